"""``python -m lfi_gateway serve``."""

from __future__ import annotations

from lfi_gateway.settings import get_settings
from lfi_shared.cli import service_main

if __name__ == "__main__":
    raise SystemExit(service_main(
        name="gateway",
        settings_factory=get_settings,
        app_factory="lfi_gateway.main:create_app",
    ))
