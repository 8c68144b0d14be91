"""The command line every service shares: ``python -m lfi_<name> serve|migrate|seed``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from lfi_shared.settings import ServiceSettings


def service_main(
    *,
    name: str,
    settings_factory: Callable[[], ServiceSettings],
    app_factory: str,
    service_dir: Path | None = None,
    seed: Callable[[ServiceSettings], Coroutine[Any, Any, None]] | None = None,
    argv: Sequence[str] | None = None,
) -> int:
    """Parse the command line and run the command; returns the exit code."""
    parser = argparse.ArgumentParser(prog=f"python -m lfi_{name}", description=f"The {name} service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service (and its workers)")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    if service_dir is not None:
        sub.add_parser("migrate", help="upgrade the service's schema to the latest revision")
        down = sub.add_parser("downgrade", help="downgrade the service's schema to a revision")
        down.add_argument("revision")
    if seed is not None:
        sub.add_parser("seed", help="load seed and reference data (idempotent)")
    args = parser.parse_args(argv)
    settings = settings_factory()

    if args.command == "serve":
        import uvicorn

        uvicorn.run(app_factory, factory=True, host=settings.host, port=settings.port,
                    workers=args.workers, log_config=None, proxy_headers=True,
                    forwarded_allow_ips=settings.forwarded_allow_ips, access_log=False,
                    timeout_keep_alive=settings.http_keep_alive_s)
        return 0
    if args.command in ("migrate", "downgrade") and service_dir is not None:
        from lfi_shared import migrations

        if args.command == "migrate":
            migrations.upgrade(service_dir, settings.database_url, settings.db_schema)
        else:
            migrations.downgrade(service_dir, settings.database_url, settings.db_schema,
                                 args.revision)
        return 0
    if args.command == "seed" and seed is not None:
        asyncio.run(seed(settings))
        return 0
    parser.print_help(sys.stderr)
    return 2
