"""Scenario 5: an outbox backlog of 100,000 events drained to NATS by one relay.

The rows are bulk-inserted in one statement (envelopes built by PostgreSQL, shaped as
:func:`lfi_shared.messaging.record_event` writes them); then one :class:`OutboxRelay` with the
services' default settings is started and timed until it has published them all. Afterwards
the stream must hold exactly that many messages and the outbox no unpublished row.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import nats
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from lfi_bench.context import BenchContext
from lfi_bench.results import Result, at_least, equal, info
from lfi_bench.scenarios.common import Scenario
from lfi_shared.db import Database, make_metadata, to_asyncpg_dsn
from lfi_shared.messaging import OutboxRelay, add_messaging_tables, ensure_stream

NAME = "outbox_drain"
TITLE = "Outbox backlog of 100,000 events drained to NATS by one relay"
COUNT = 100_000
TARGET_PER_S = 5_000.0
SCHEMA = "drain"
# A producer (and so a stream) of its own: the stream must hold this scenario's events only.
PRODUCER = "bench_drain"
EVENT_TYPE = "lfi.bench_drain.backlog.recorded.v1"
GIVE_UP_AFTER_S = 300.0

# The envelope of record_event, built in SQL: id, source, type, subject, time, dataschema,
# data and correlationid (its own id), as Envelope.to_json_dict() writes them.
BULK_INSERT = f"""
INSERT INTO "{SCHEMA}".outbox (id, event_type, subject, nats_subject, payload)
SELECT e.id, $1::text, e.subject, $2::text, jsonb_build_object(
    'specversion', '1.0', 'id', e.id::text, 'source', '/lfi/bench', 'type', $1::text,
    'subject', e.subject,
    'time', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
    'datacontenttype', 'application/json', 'dataschema', 'urn:lfi:schema:' || $1::text,
    'data', jsonb_build_object('sample_id', e.subject, 'seq', e.seq),
    'correlationid', e.id::text)
FROM (SELECT gen_random_uuid() AS id, gen_random_uuid()::text AS subject, g AS seq
      FROM generate_series(1, $3::integer) AS g) AS e
"""  # noqa: S608 - the schema is a constant


async def run(ctx: BenchContext) -> Result:
    env = ctx.env
    url = await env.schema_url(SCHEMA)
    metadata = make_metadata(SCHEMA)
    tables = add_messaging_tables(metadata)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()

    settings = env.messaging_settings(schema=SCHEMA, database_url=url)
    subject = settings.subject_for(EVENT_TYPE)
    began = time.perf_counter()
    conn = await asyncpg.connect(to_asyncpg_dsn(url))
    try:
        await conn.execute(BULK_INSERT, EVENT_TYPE, subject, COUNT)
        await conn.execute(f'ANALYZE "{SCHEMA}".outbox')
    finally:
        await conn.close()
    insert_s = time.perf_counter() - began

    stream = settings.stream_name(PRODUCER)
    nc = await nats.connect(env.nats_url, connect_timeout=2, max_reconnect_attempts=1)
    try:
        js = nc.jetstream()
        await ensure_stream(js, settings, PRODUCER)  # made before the clock starts

        database = Database(url, pool_size=settings.db_pool_size,
                            max_overflow=settings.db_max_overflow,
                            application_name="lfi-bench-drain-relay")
        relay = OutboxRelay(database=database, tables=tables, settings=settings,
                            producer=PRODUCER)
        began = time.perf_counter()
        await relay.start()
        try:
            # The relay's counter has no event to wait on: poll it (every 10 ms).
            while (relay.stats.published < COUNT  # noqa: ASYNC110
                   and time.perf_counter() - began < GIVE_UP_AFTER_S):
                await asyncio.sleep(0.01)
            drain_s = time.perf_counter() - began
        finally:
            await relay.stop()
        published = relay.stats.published
        async with database.transaction() as session:
            left = await session.scalar(select(func.count()).select_from(tables.outbox)
                                        .where(tables.outbox.c.published_at.is_(None)))
        await database.dispose()
        messages = (await js.stream_info(stream)).state.messages
    finally:
        await nc.close()

    rate = published / drain_s if drain_s > 0 else 0.0
    figures = [
        at_least("events/s", rate, "events/s", TARGET_PER_S),
        info("drain time", drain_s, "s"),
        equal("messages in stream", float(messages), "", float(COUNT)),
        equal("rows left unpublished", float(left or 0), "", 0),
    ]
    details = {
        "events": COUNT, "published": published, "bulk_insert_s": round(insert_s, 3),
        "drain_s": round(drain_s, 3), "relay_batch_size": relay.batch_size,
        "relay_duplicates": relay.stats.duplicates, "relay_failures": relay.stats.failures,
        "gave_up": published < COUNT,
    }
    return Result.measured(NAME, TITLE, figures, details)


SCENARIO = Scenario(NAME, TITLE, run)
