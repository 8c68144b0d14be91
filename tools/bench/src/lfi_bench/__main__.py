"""``python -m lfi_bench [--duration S] [--only NAME] [--out FILE]``: run the benchmark.

``python -m lfi_bench --readme`` writes the last run's table (bench/results/latest.json) into
the README's benchmark section instead.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

from lfi_bench import machine
from lfi_bench.context import Options
from lfi_bench.loops import run_async
from lfi_bench.report import (
    document,
    render_markdown,
    render_table,
    replace_readme_block,
    write_json,
)
from lfi_bench.runner import UnknownScenario, run_bench, select
from lfi_bench.scenarios import SCENARIOS

LATEST = Path("bench/results/latest.json")
LOGS = Path("bench/results/logs")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lfi_bench",
        description="Measure the platform against a minimal reference endpoint, in one run.",
    )
    parser.add_argument("--duration", type=float, default=10.0, metavar="S",
                        help="seconds of measured load per load scenario (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=1.0, metavar="S",
                        help="seconds of unrecorded load before each (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=16, metavar="N",
                        help="connections of the load generator (default: %(default)s)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run this scenario (repeatable, or comma-separated) and those its "
                             "targets build on")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help=f"also write the JSON report here (always: {LATEST})")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--readme", action="store_true",
                        help=f"write {LATEST} into README.md's benchmark section and exit")
    return parser


def _write_readme(repo: Path) -> int:
    latest = repo / LATEST
    if not latest.exists():
        print(f"no {LATEST}: run the benchmark first", file=sys.stderr)
        return 1
    report = json.loads(latest.read_text(encoding="utf-8"))
    readme = repo / "README.md"
    try:
        text = replace_readme_block(readme.read_text(encoding="utf-8"), render_markdown(report))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    readme.write_text(text, encoding="utf-8")
    print(f"README.md: the benchmark table of {report.get('started_at')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.readme:
        from lfi_devstack.paths import repo_root
        return _write_readme(repo_root())
    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name:<26} {scenario.title}")
        return 0
    if args.duration <= 0 or args.warmup < 0 or not 1 <= args.concurrency <= 99:
        print("--duration must be positive, --warmup not negative, --concurrency 1 to 99",
              file=sys.stderr)
        return 2
    names = [n.strip() for item in args.only or [] for n in item.split(",") if n.strip()]
    try:
        scenarios = select(names)
    except UnknownScenario as exc:
        print(exc, file=sys.stderr)
        return 2

    from lfi_devstack.infra import Infra, InfraConfig
    from lfi_devstack.paths import LocalPaths, repo_root
    from lfi_devstack.processes import StartupError

    repo = repo_root()
    options = Options(duration_s=args.duration, warmup_s=args.warmup,
                      concurrency=args.concurrency)
    described = machine.describe()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    log_dir = repo / LOGS
    log_dir.mkdir(parents=True, exist_ok=True)
    for old in log_dir.glob("*.log"):
        old.unlink()
    # The relays and consumers run in this process log through structlog: to a file, not over
    # the report.
    bench_log = (log_dir / "bench.log").open("a", encoding="utf-8")
    structlog.configure(logger_factory=structlog.WriteLoggerFactory(file=bench_log))

    def say(message: str) -> None:
        print(f"bench      | {message}", flush=True)

    # SIGTERM stops a run as Ctrl-C does: the scenario in hand is cancelled, then the servers,
    # the database, the roles and the streams are removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with Infra(InfraConfig.from_env(LocalPaths.under(repo))) as infra:
            results, versions = run_async(run_bench(
                admin_url=infra.pg_admin_url, nats_url=infra.nats_url, scenarios=scenarios,
                options=options, log_dir=log_dir, say=say))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        bench_log.close()
    described.update(versions)
    report = document(results, machine=described, started_at=started,
                      finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
                      settings={"duration_s": options.duration_s,
                                "warmup_s": options.warmup_s,
                                "concurrency": options.concurrency,
                                "scenarios": [s.name for s in scenarios]})
    paths = [repo / LATEST] + ([args.out] if args.out else [])
    write_json(report, paths)
    print()
    print(render_table(results, described))
    print(f"\nJSON: {', '.join(str(p) for p in paths)}; server logs: {log_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
