"""``python -m lfi_events serve|migrate|downgrade|seed|asyncapi|snapshot-schemas|bench-timeline``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lfi_events.seed import seed
from lfi_events.settings import get_settings
from lfi_shared.cli import service_main

SERVICE_DIR = Path(__file__).resolve().parents[2]
TOOLS = ("asyncapi", "snapshot-schemas", "bench-timeline")


def tools_main(argv: Sequence[str]) -> int:
    """The catalogue and benchmark commands (development tools, not the service)."""
    from lfi_contracts import all_contracts
    from lfi_events import snapshots

    parser = argparse.ArgumentParser(prog="python -m lfi_events")
    sub = parser.add_subparsers(dest="command", required=True)
    doc = sub.add_parser("asyncapi", help="write the AsyncAPI document")
    doc.add_argument("--out", type=Path, default=snapshots.ASYNCAPI_FILE)
    snap = sub.add_parser("snapshot-schemas",
                          help="refresh contracts/schemas (refuses incompatible changes)")
    snap.add_argument("--dir", type=Path, default=snapshots.SNAPSHOT_DIR)
    bench = sub.add_parser("bench-timeline", help="p50/p95 of the journey timeline query")
    bench.add_argument("--events", type=int, default=1_000_000)
    bench.add_argument("--queries", type=int, default=500)
    bench.add_argument("--database-url", default=os.environ.get(
        "LFI_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a role that may create a schema (the benchmark's own, dropped afterwards)")
    args = parser.parse_args(argv)

    if args.command == "asyncapi":
        args.out.write_text(snapshots.asyncapi_text(all_contracts()))
        print(f"wrote {args.out}")
        return 0
    if args.command == "snapshot-schemas":
        try:
            written = snapshots.write_snapshots(args.dir, all_contracts())
        except snapshots.IncompatibleChangeError as exc:
            print(f"incompatible contract changes (declare a new vN instead):\n{exc}",
                  file=sys.stderr)
            return 1
        print(f"{len(written)} snapshot(s) written" + "".join(f"\n  {t}" for t in written))
        return 0
    from lfi_events.bench import run

    result = run(args.database_url, args.events, args.queries)
    print(json.dumps(result.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv and argv[0] in TOOLS:
        raise SystemExit(tools_main(argv))
    raise SystemExit(service_main(
        name="events",
        settings_factory=get_settings,
        app_factory="lfi_events.main:create_app",
        service_dir=SERVICE_DIR,
        seed=seed,
    ))
