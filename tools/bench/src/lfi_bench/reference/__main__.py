"""``python -m lfi_bench.reference serve``: the reference app, exactly as a service is served."""

from __future__ import annotations

from lfi_bench.reference.app import get_settings
from lfi_shared.cli import service_main

if __name__ == "__main__":
    raise SystemExit(service_main(
        name="bench_reference",
        settings_factory=get_settings,
        app_factory="lfi_bench.reference.app:create_app",
    ))
