"""``python -m lfi_placements serve|migrate|downgrade|seed``."""

from __future__ import annotations

from pathlib import Path

from lfi_placements.seed import seed
from lfi_placements.settings import get_settings
from lfi_shared.cli import service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]

if __name__ == "__main__":
    raise SystemExit(service_main(
        name="placements",
        settings_factory=get_settings,
        app_factory="lfi_placements.main:create_app",
        service_dir=SERVICE_DIR,
        seed=seed,
    ))
