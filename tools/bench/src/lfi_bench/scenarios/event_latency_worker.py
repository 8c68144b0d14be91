"""The two processes of the event latency scenario (``python -m`` this module ``producer|consumer``).

* **producer**: as a producing service does, writes a row and records its event in the
  outbox in one transaction, at a steady rate (each write started on its own schedule, so a
  slow commit does not slow the rate), with one :class:`OutboxRelay` in the same process,
  woken by NOTIFY.
* **consumer**: as a consuming service does, one :class:`ConsumerRunner` whose handler writes
  the effect row in the runner's transaction (inbox row first).

Each side stamps the wall clock (``time.time_ns()``, one clock for every process of the
machine) right after its transaction commits: the producer after its write's commit, the
consumer after the commit of the effect. Latency is the difference: commit to committed
effect, with the relay's claim, publish, acknowledgement and mark, and the consumer's fetch,
inbox, effect and commit in between.

Configuration comes as JSON on stdin; the stamps go to stdout as one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_bench.loops import run_async
from lfi_bench.scenarios.event_latency_tables import (
    EVENT_TYPE,
    PRODUCER,
    consumer_tables,
    producer_tables,
)
from lfi_shared.db import Database
from lfi_shared.messaging import ConsumerRunner, Envelope, EventContract, OutboxRelay, record_event
from lfi_shared.settings import ServiceSettings


class SampleRecorded(EventContract):
    """The bench's own event (declared only in this process, never in a service's)."""

    event_type: ClassVar[str] = EVENT_TYPE
    sample_id: uuid.UUID
    seq: int


_committing: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "committing", default=None)


class StampingDatabase(Database):
    """A :class:`Database` that stamps the wall clock when a transaction has committed, for
    each event id its handler noted (the runner owns the transaction and its commit)."""

    def __init__(self, url: str, *, expected: int, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.committed_ns: dict[str, int] = {}
        self.expected = expected
        self.all_committed = asyncio.Event()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        noted: list[str] = []
        token = _committing.set(noted)
        try:
            async with super().transaction() as session:
                yield session
        finally:
            _committing.reset(token)
        stamp = time.time_ns()  # reached only when the commit succeeded
        for event_id in noted:
            self.committed_ns[event_id] = stamp
        if len(self.committed_ns) >= self.expected:
            self.all_committed.set()


def _settings(config: dict[str, Any]) -> ServiceSettings:
    return ServiceSettings(service_name=config["service_name"], environment="test",
                           database_url=config["database_url"], db_schema=config["schema"],
                           nats_url=config["nats_url"], nats_namespace=config["namespace"])


async def produce(config: dict[str, Any]) -> dict[str, Any]:
    settings = _settings(config)
    database = Database(settings.database_url, pool_size=settings.db_pool_size,
                        max_overflow=settings.db_max_overflow,
                        application_name="lfi-bench-latency-producer")
    tables, samples = producer_tables()
    relay = OutboxRelay(database=database, tables=tables, settings=settings, producer=PRODUCER)
    rate: float = config["rate"]
    total = round(rate * (config["warmup_s"] + config["duration_s"]))
    stamps: dict[str, list[int]] = {}
    late = 0

    async def write(seq: int) -> None:
        sample_id = uuid.uuid4()
        async with database.transaction() as session:
            await session.execute(insert(samples).values(id=sample_id, seq=seq))
            envelope = await record_event(
                session, tables, settings, SampleRecorded(sample_id=sample_id, seq=seq),
                subject=str(sample_id), correlation_id=None, traceparent=None,
                source="/lfi/bench")
        stamps[envelope.id] = [seq, time.time_ns()]

    await relay.start()
    try:
        loop = asyncio.get_running_loop()
        began = loop.time() + 0.05
        writes: list[asyncio.Task[None]] = []
        for seq in range(total):
            due = began + seq / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.001:
                late += 1
            writes.append(asyncio.create_task(write(seq)))
        await asyncio.gather(*writes)
        elapsed = loop.time() - began
        deadline = time.monotonic() + config["drain_timeout_s"]
        # The relay's counter has no event to wait on: poll it.
        while relay.stats.published < total and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    finally:
        await relay.stop()
        await database.dispose()
    return {"stamps": stamps, "total": total, "elapsed_s": elapsed, "late_starts": late,
            "published": relay.stats.published, "relay_failures": relay.stats.failures}


async def consume(config: dict[str, Any]) -> dict[str, Any]:
    settings = _settings(config)
    database = StampingDatabase(settings.database_url, expected=config["expected"],
                                pool_size=settings.db_pool_size,
                                max_overflow=settings.db_max_overflow,
                                application_name="lfi-bench-latency-consumer")
    tables, effects = consumer_tables()

    async def apply(session: AsyncSession, envelope: Envelope) -> None:
        await session.execute(insert(effects).values(
            event_id=envelope.event_id, sample_id=uuid.UUID(envelope.data["sample_id"])))
        noted = _committing.get()
        if noted is not None:
            noted.append(envelope.id)

    runner = ConsumerRunner(name="latency", database=database, tables=tables, settings=settings,
                            producer=PRODUCER, handlers={EVENT_TYPE: apply})
    await runner.start()
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(database.all_committed.wait(), config["timeout_s"])
    finally:
        await runner.stop()
        await database.dispose()
    return {"stamps": database.committed_ns, "processed": runner.stats.processed,
            "duplicates": runner.stats.duplicates, "retried": runner.stats.retried,
            "dead_lettered": runner.stats.dead_lettered, "failures": runner.stats.failures}


def main(argv: list[str]) -> int:
    # The platform's loggers print to stdout by default; stdout carries the result here.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    role = argv[1] if len(argv) > 1 else ""
    config = json.loads(sys.stdin.read())
    if role == "producer":
        result = run_async(produce(config))
    elif role == "consumer":
        result = run_async(consume(config))
    else:
        print("usage: python -m lfi_bench.scenarios.event_latency_worker producer|consumer",
              file=sys.stderr)
        return 2
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
