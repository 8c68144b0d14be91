"""``python -m lfi_gateway serve`` (the gateway) or ``python -m lfi_gateway openapi --out FILE``
(the merged OpenAPI document, built offline from the services' code, for client generation)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lfi_gateway.settings import get_settings
from lfi_shared.cli import service_main


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["openapi"]:
        from lfi_gateway.openapi.offline import main as openapi_main

        return openapi_main(args[1:])
    return service_main(
        name="gateway",
        settings_factory=get_settings,
        app_factory="lfi_gateway.main:create_app",
        argv=args,
    )


if __name__ == "__main__":
    raise SystemExit(main())
