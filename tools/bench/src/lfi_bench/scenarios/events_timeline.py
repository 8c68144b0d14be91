"""Scenario 8: the events service's journey-timeline query over 1,000,000 stored events.

The events service provides the measurement (:func:`lfi_events.bench.bench_timeline`): it
creates a schema with the store's own DDL, bulk-loads synthetic journeys with COPY, then
times the service's own timeline query for random referrals. The bench gives it the run's
database (as administrator: it creates its own schema) and reports its p50 and p95.
"""

from __future__ import annotations

from lfi_bench.context import BenchContext, NotMeasured
from lfi_bench.results import Result, below, info
from lfi_bench.scenarios.common import Scenario

NAME = "events_timeline"
TITLE = "Events timeline query over 1,000,000 stored events"
EVENTS = 1_000_000
QUERIES = 500
P95_TARGET_MS = 20.0


async def run(ctx: BenchContext) -> Result:
    try:
        from lfi_events.bench import bench_timeline
    except ImportError as exc:
        raise NotMeasured(f"lfi_events provides no timeline benchmark "
                          f"(lfi_events.bench.bench_timeline): {exc}") from exc
    ctx.say(f"{NAME}: loading {EVENTS:,} synthetic events (COPY), then {QUERIES} timelines …")
    measured = await bench_timeline(ctx.env.database_admin_url, events=EVENTS, queries=QUERIES)
    figures = [
        info("p50", measured.p50_ms, "ms"),
        below("p95", measured.p95_ms, "ms", P95_TARGET_MS),
        info("max", measured.max_ms, "ms"),
        info("events per timeline", measured.mean_events_per_timeline, "events"),
        info("stored events", float(measured.events), "events"),
    ]
    return Result.measured(NAME, TITLE, figures, measured.as_dict())


SCENARIO = Scenario(NAME, TITLE, run)
