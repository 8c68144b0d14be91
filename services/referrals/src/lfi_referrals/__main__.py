"""``python -m lfi_referrals serve|migrate|downgrade|seed|anonymise``.

``anonymise [--apply] [--on YYYY-MM-DD]`` is this service's own: a dry run by default (reports
counts as JSON, changes nothing); ``--apply`` anonymises the records past retention. The other
commands are the shared CLI's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

from lfi_referrals.seed import seed
from lfi_referrals.settings import Settings, get_settings
from lfi_shared.cli import service_main
from lfi_shared.db import Database

SERVICE_DIR = Path(__file__).resolve().parents[2]


async def anonymise(settings: Settings, *, apply: bool, on: date | None = None) -> dict[str, object]:
    """Run the retention sweep once; the report as a dict."""
    from lfi_referrals.service.retention import anonymise_past_retention

    at = (datetime.combine(on, time(12), UTC) if on is not None else datetime.now(UTC))
    database = Database(settings.database_url, pool_size=1, max_overflow=0,
                        application_name="lfi-referrals-anonymise")
    try:
        async with database.transaction() as session:
            report = await anonymise_past_retention(session, settings, at=at, apply=apply)
            if not apply:
                await session.rollback()
    finally:
        await database.dispose()
    return report.as_dict()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["anonymise"]:
        parser = argparse.ArgumentParser(prog="python -m lfi_referrals anonymise",
                                         description="Anonymise referrals past retention.")
        parser.add_argument("--apply", action="store_true",
                            help="change the records (without it: a dry run)")
        parser.add_argument("--on", type=date.fromisoformat, default=None,
                            help="judge retention as on this date (default today)")
        options = parser.parse_args(args[1:])
        report = asyncio.run(anonymise(get_settings(), apply=options.apply, on=options.on))
        print(json.dumps(report, indent=2))
        return 0
    return service_main(
        name="referrals",
        settings_factory=get_settings,
        app_factory="lfi_referrals.main:create_app",
        service_dir=SERVICE_DIR,
        seed=seed,
        argv=args,
    )


if __name__ == "__main__":
    raise SystemExit(main())
