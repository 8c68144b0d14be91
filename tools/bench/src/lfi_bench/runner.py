"""Running the chosen scenarios in order, in a database and NATS namespace of the run's own."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import nats

from lfi_bench.context import BenchContext, NotMeasured, Options
from lfi_bench.environment import BenchEnvironment
from lfi_bench.processes import ServiceUnavailable
from lfi_bench.results import Result, Status
from lfi_bench.scenarios import SCENARIOS
from lfi_bench.scenarios.common import Scenario


class UnknownScenario(ValueError):
    pass


def select(names: Sequence[str] | None) -> list[Scenario]:
    """The scenarios named (all when none are), with the ones their targets build on, in order.

    Raises:
        UnknownScenario: a name is not a scenario's.
    """
    by_name = {s.name: s for s in SCENARIOS}
    if not names:
        return list(SCENARIOS)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UnknownScenario(f"unknown scenario {', '.join(unknown)}; "
                              f"choose from: {', '.join(by_name)}")
    wanted: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending += by_name[name].needs
    return [s for s in SCENARIOS if s.name in wanted]


async def run_scenario(ctx: BenchContext, scenario: Scenario) -> Result:
    """Run one scenario; whatever happens, a result (never an invented figure)."""
    began = time.perf_counter()
    try:
        result = await scenario.run(ctx)
    except NotMeasured as exc:
        result = Result.not_measured(scenario.name, scenario.title, str(exc))
    except ServiceUnavailable as exc:
        result = Result.error(scenario.name, scenario.title, f"a server did not start: {exc}")
    except Exception as exc:
        result = Result.error(scenario.name, scenario.title, f"{type(exc).__name__}: {exc}",
                              {"traceback": traceback.format_exc(limit=12)})
    result.seconds = round(time.perf_counter() - began, 2)
    ctx.results[scenario.name] = result
    return result


def _summary(result: Result) -> str:
    if result.status is Status.MEASURED:
        missed = len(result.missed)
        verdict = f"{missed} target(s) MISSED" if missed else "no target missed"
        return f"{result.scenario}: measured in {result.seconds:.1f}s, {verdict}"
    label = "not measured" if result.status is Status.NOT_MEASURED else "ERROR"
    first = (result.reason or "").splitlines()[0] if result.reason else ""
    return f"{result.scenario}: {label}: {first}"


async def server_versions(admin_url: str, nats_url: str) -> dict[str, Any]:
    """PostgreSQL's and NATS's versions, for the machine description."""
    versions: dict[str, Any] = {}
    try:
        conn = await asyncpg.connect(admin_url)
        try:
            versions["postgresql"] = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
    except Exception as exc:
        versions["postgresql"] = f"unknown ({type(exc).__name__})"
    try:
        nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=1)
        try:
            version = nc.connected_server_version
            versions["nats"] = f"{version.major}.{version.minor}.{version.patch}"
        finally:
            await nc.close()
    except Exception as exc:
        versions["nats"] = f"unknown ({type(exc).__name__})"
    return versions


async def run_bench(*, admin_url: str, nats_url: str, scenarios: Sequence[Scenario],
                    options: Options, log_dir: Path | None = None,
                    say: Callable[[str], None] = print) -> tuple[list[Result], dict[str, Any]]:
    """Make the run's environment, run ``scenarios`` in order, remove the environment.

    Returns the results and the servers' versions.
    """
    versions = await server_versions(_libpq(admin_url), nats_url)
    env = await BenchEnvironment.create(admin_url, nats_url, log_dir=log_dir)
    say(f"run {env.run_id}: database {env.database}, NATS namespace {env.namespace}")
    ctx = BenchContext(env=env, options=options, say=say)
    results: list[Result] = []
    try:
        for scenario in scenarios:
            say(f"— {scenario.name}: {scenario.title}")
            result = await run_scenario(ctx, scenario)
            results.append(result)
            say(_summary(result))
    finally:
        ctx.stop_servers()
        problems = await env.close()
        for problem in problems:
            say(f"cleanup: could not remove {problem}")
    return results, versions


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
