"""The journey-timeline benchmark: p50 and p95 of the timeline query over N stored events.

``python -m lfi_events bench-timeline --events 1000000`` (or :func:`bench_timeline` from the
bench harness) creates a fresh schema with the store's own DDL, bulk-loads synthetic events
with COPY, runs ``ANALYZE``, then times the service's own timeline query for random referrals
and drops the schema. Synthetic journeys: each referral has events from all three producers
(about 12 on average), plus unrelated events (schools, zones, budgets) making up the rest.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from lfi_events.db.ddl import store_ddl_v1
from lfi_events.db.models import SCHEMA
from lfi_events.db.store import timeline_query
from lfi_shared.db import to_asyncpg_dsn

JOURNEY = [
    ("lfi.referrals.referral.submitted.v1", "referrals"),
    ("lfi.referrals.referral.triaged.v1", "referrals"),
    ("lfi.referrals.referral.accepted.v1", "referrals"),
    ("lfi.referrals.referral.placement_requested.v1", "referrals"),
    ("lfi.placements.request.received.v1", "placements"),
    ("lfi.placements.placement.offered.v1", "placements"),
    ("lfi.placements.placement.accepted.v1", "placements"),
    ("lfi.placements.placement.started.v1", "placements"),
    ("lfi.referrals.referral.element3_review_requested.v1", "referrals"),
    ("lfi.funding.application.submitted.v1", "funding"),
    ("lfi.funding.application.decided.v1", "funding"),
    ("lfi.placements.placement.ended.v1", "placements"),
    ("lfi.referrals.referral.closed.v1", "referrals"),
]
OTHER = [("lfi.referrals.school.updated.v1", "referrals"),
         ("lfi.placements.provision.capacity_changed.v1", "placements"),
         ("lfi.funding.formula.published.v1", "funding")]
COLUMNS = ["id", "type", "source", "subject", "time", "correlation_id", "traceparent",
           "dataschema", "data", "referral_id", "stream", "stream_sequence", "received_at"]


@dataclass(frozen=True)
class TimelineBenchResult:
    events: int
    referrals: int
    queries: int
    mean_events_per_timeline: float
    load_s: float
    p50_ms: float
    p95_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def synthetic_events(count: int, rng: random.Random) -> tuple[list[tuple[Any, ...]], list[str]]:
    """``count`` store rows (COPY records) and the referral ids they tell the journeys of."""
    rows: list[tuple[Any, ...]] = []
    referrals: list[str] = []
    sequences = {"referrals": 0, "placements": 0, "funding": 0}
    start = datetime(2025, 9, 1, tzinfo=UTC)
    journey_share = 0.7  # the rest: events about schools, provisions, budgets
    while len(rows) < count:
        when = start + timedelta(seconds=rng.randrange(0, 300 * 24 * 3600))
        if rng.random() < journey_share:
            referral = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            referrals.append(referral)
            steps = JOURNEY[: rng.randint(4, len(JOURNEY))]
            for event_type, producer in steps:
                when += timedelta(hours=rng.randint(1, 240))
                sequences[producer] += 1
                own = event_type.startswith("lfi.referrals.referral.")
                subject = referral if own else str(uuid.uuid4())
                data = {"referral_id": referral, "school_urn": "121234"}
                rows.append(_row(event_type, producer, subject, when, referral, data,
                                 referral, sequences[producer]))
        else:
            event_type, producer = rng.choice(OTHER)
            sequences[producer] += 1
            subject = str(uuid.uuid4())
            rows.append(_row(event_type, producer, subject, when, subject, {"n": 1}, None,
                             sequences[producer]))
    return rows[:count], referrals


def _row(event_type: str, producer: str, subject: str, when: datetime, correlation: str,
         data: dict[str, Any], referral: str | None, sequence: int) -> tuple[Any, ...]:
    return (uuid.uuid4(), event_type, f"/lfi/{producer}", subject, when, correlation, None,
            f"urn:lfi:schema:{event_type}", json.dumps(data), referral,
            f"LFI_{producer.upper()}", sequence, when)


async def bench_timeline(database_url: str, *, events: int = 1_000_000, queries: int = 500,
                         seed: int = 20251, keep: bool = False) -> TimelineBenchResult:
    """Load ``events`` synthetic events into a fresh schema and time ``queries`` timelines.

    ``database_url`` (SQLAlchemy or plain PostgreSQL URL) must be allowed to create a schema.
    """
    rng = random.Random(seed)
    schema = f"events_bench_{uuid.uuid4().hex[:8]}"
    dsn = to_asyncpg_dsn(database_url)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        for statement in store_ddl_v1(schema):
            await conn.execute(statement)
        rows, referrals = synthetic_events(events, rng)
        started = time.perf_counter()
        await conn.execute("SET jit = off")
        await conn.copy_records_to_table("stored_events", records=rows, columns=COLUMNS,
                                         schema_name=schema)
        await conn.execute(f"ANALYZE {schema}.stored_events")
        load_s = time.perf_counter() - started
        del rows
    finally:
        await conn.close()

    url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    timings: list[float] = []
    sizes: list[int] = []
    try:
        async with engine.connect() as connection:
            translated = await connection.execution_options(
                schema_translate_map={SCHEMA: schema})
            for referral in rng.sample(referrals, min(queries, len(referrals))):
                began = time.perf_counter()
                result = await translated.execute(timeline_query(referral, 2001))
                found = len(result.all())
                timings.append((time.perf_counter() - began) * 1000)
                sizes.append(found)
    finally:
        await engine.dispose()
        if not keep:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f"DROP SCHEMA {schema} CASCADE")
            finally:
                await conn.close()
    timings.sort()
    return TimelineBenchResult(
        events=events, referrals=len(referrals), queries=len(timings),
        mean_events_per_timeline=round(statistics.fmean(sizes), 1) if sizes else 0.0,
        load_s=round(load_s, 2),
        p50_ms=round(statistics.median(timings), 3),
        p95_ms=round(timings[max(0, int(len(timings) * 0.95) - 1)], 3),
        max_ms=round(timings[-1], 3),
    )


def run(database_url: str, events: int, queries: int) -> TimelineBenchResult:
    return asyncio.run(bench_timeline(database_url, events=events, queries=queries))
