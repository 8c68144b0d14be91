"""``python -m lfi_devstack run | test [pytest args…] | migrate | ensure-infra``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lfi_devstack import commands

USAGE = """\
python -m lfi_devstack COMMAND

  run                  ensure PostgreSQL and NATS, provision, migrate, seed, run every service
  test [pytest args]   ensure PostgreSQL and NATS, run pytest with these arguments
  migrate              ensure PostgreSQL and NATS, provision, run every service's migrations
  ensure-infra         ensure PostgreSQL and NATS; hold any it started until Ctrl-C

Environment: LFI_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
LFI_NATS_URL (default nats://127.0.0.1:4222), LFI_DEV_DB_PASSWORD, LFI_DEV_READY_TIMEOUT,
LFI_<SERVICE>_HOST / LFI_<SERVICE>_PORT.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "test":
        # Everything after `test` belongs to pytest, options included.
        return commands.test(args[1:])
    parser = argparse.ArgumentParser(prog="python -m lfi_devstack", usage=USAGE)
    parser.add_argument("command", choices=["run", "migrate", "ensure-infra"])
    chosen = parser.parse_args(args).command
    if chosen == "run":
        return commands.run()
    if chosen == "migrate":
        return commands.migrate()
    return commands.ensure_infra()


if __name__ == "__main__":
    sys.exit(main())
