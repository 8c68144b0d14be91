"""Outgrowing one machine: a three-node JetStream cluster loses a node while two replicas of a
service's outbox relay and two replicas of a consumer move 1,000 events, and every event is
still processed exactly once.

The service is funding: its schema comes from its own first migration (the platform's outbox,
inbox and dead-letter tables), its events go to its own stream (``LFI_FUNDING``) with three
replicas (``nats_stream_replicas=3``), and the events are real ``ApplicationSubmitted``
contracts. Each event is written as production code writes one: a business row and its outbox
row in one transaction. The consumer's handler applies an effect row per delivery it handles,
so a second application of any event would show as a second row.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamInfo
from nats_cluster import NatsCluster, poll
from service_databases import service_database
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts.funding import ApplicationSubmitted
from lfi_funding.db.models import platform
from lfi_funding.settings import Settings
from lfi_shared.db import Database, make_metadata
from lfi_shared.messaging import (
    Backoff,
    ConsumerRunner,
    Envelope,
    OutboxRelay,
    ensure_stream,
    record_event,
)
from lfi_shared.testing.plugin import TestDatabase

SERVICE = "funding"
EVENTS = 1_000
KILL_AFTER_WRITTEN = 350  # the node dies with about a third of the events written
CONSUMER = "cluster-consumer"  # one durable, shared by both consumer replicas
WAIT_S = 90.0  # generous: a loaded two-core machine, a leader election in the middle

pytestmark = pytest.mark.timeout(170)

tables = platform.messaging
_demo = make_metadata(SERVICE)
changes = Table(  # the business change each event announces
    "cluster_changes", _demo,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("label", Text, nullable=False),
)
effects = Table(  # one row per time the consumer applied an event: no unique key, so twice shows
    "cluster_effects", _demo,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False,
           server_default=func.clock_timestamp()),
)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    """Three nodes up, routed, with a JetStream meta leader; every process stopped at the end."""
    nodes = NatsCluster(tmp_path / "nats")
    try:
        nodes.start()
        await nodes.wait_accepting()
        yield nodes
    finally:
        nodes.close()


@pytest.fixture
async def database(test_database: TestDatabase) -> AsyncIterator[Database]:
    """Funding's schema at its platform-tables revision, plus the demonstration tables."""
    async with service_database(test_database, SERVICE, revision="0001") as url:
        db = Database(url, pool_size=8, max_overflow=4, application_name="test-nats-cluster")
        try:
            async with db.engine.begin() as conn:
                await conn.run_sync(_demo.create_all)
            yield db
        finally:
            await db.dispose()


async def test_two_relays_and_two_consumers_process_1000_events_once_while_a_node_dies(
    cluster: NatsCluster, database: Database, nats_namespace: str,
) -> None:
    settings = Settings(
        environment="test", database_url=database.url, nats_url=cluster.urls[0],
        nats_namespace=f"{nats_namespace}_cluster", nats_stream_replicas=3,
        relay_poll_interval_s=0.1, relay_batch_size=50,
        consumer_ack_wait_s=3.0, consumer_max_deliver=50, log_level="WARNING",
    )
    stream = settings.stream_name(SERVICE)

    observer = await cluster.connect()
    try:
        await cluster.wait_meta_leader(observer)
        js = observer.jetstream(timeout=5)
        # The stream with three replicas, as the relay creates it (retried: right after the
        # meta leader is elected, not every peer may be known yet).
        await poll(lambda: _try(ensure_stream(js, settings, SERVICE)), timeout_s=WAIT_S,
                   what="the stream created with three replicas")
        info = await _stream_ready(js, stream)
        assert info.config.num_replicas == 3
        assert info.cluster is not None and len(info.cluster.replicas or []) == 2

        async def apply_effect(session: AsyncSession, envelope: Envelope) -> None:
            ApplicationSubmitted.from_envelope(envelope)  # the producer's contract parses
            await session.execute(insert(effects).values(event_id=envelope.event_id))

        # Every runner is given all three URLs, so its client fails over between nodes.
        relays = [
            OutboxRelay(database=database, tables=tables, settings=settings, producer=SERVICE,
                        nats_url=",".join(cluster.urls),
                        publish_timeout_s=2.0, retry_backoff=Backoff(base_s=0.1, cap_s=1.0),
                        nats_reconnect_wait_s=0.2, name=f"funding-relay-{n}")
            for n in ("a", "b")
        ]
        consumers = [
            ConsumerRunner(name=CONSUMER, database=database, tables=tables, settings=settings,
                           producer=SERVICE,
                           handlers={ApplicationSubmitted.event_type: apply_effect},
                           nats_url=",".join(cluster.urls),
                           batch_size=25, fetch_timeout_s=1.0,
                           retry_backoff=Backoff(base_s=0.2, cap_s=1.0),
                           reconnect_backoff=Backoff(base_s=0.1, cap_s=1.0),
                           nats_reconnect_wait_s=0.2, check_consumer_every_s=2.0)
            for _ in ("a", "b")
        ]
        writer: asyncio.Task[None] | None = None
        try:
            for runner in [*relays, *consumers]:
                await runner.start()

            written: list[uuid.UUID] = []
            writer = asyncio.create_task(_write_events(database, settings, written))
            await poll(lambda: len(written) >= KILL_AFTER_WRITTEN or writer.done(),
                       timeout_s=WAIT_S, what=f"{KILL_AFTER_WRITTEN} events written")
            assert not writer.done() or writer.exception() is None, writer.exception()
            await poll(lambda: _count(database, effects, lambda n: n > 0), timeout_s=WAIT_S,
                       what="the first events consumed before the node dies")

            # The node leading the stream dies (SIGKILL, as a lost machine) mid-flow.
            leader = (await _stream_ready(js, stream)).cluster
            assert leader is not None and leader.leader is not None
            victim = cluster.node_named(leader.leader)
            victim.kill()

            await asyncio.wait_for(writer, WAIT_S)  # writes never depended on NATS
            assert len(written) == EVENTS

            await poll(lambda: _outbox_drained(database), timeout_s=WAIT_S,
                       what=f"the outbox drained after losing {victim.name}\n{cluster.logs()}")
            await poll(lambda: _count(database, effects, lambda n: n >= EVENTS),
                       timeout_s=WAIT_S, what="1,000 effects")
            # Leave time for any late redelivery to show itself as a second effect.
            await asyncio.sleep(settings.consumer_ack_wait_s + 1.0)
            assert all(runner.running for runner in [*relays, *consumers])  # none gave up
        finally:
            if writer is not None and not writer.done():
                writer.cancel()
            for consumer in consumers:
                await consumer.stop(timeout_s=5)
            for relay in relays:
                await relay.stop(timeout_s=5)

        # Every event was processed exactly once: one effect and one inbox row per event id.
        async with database.transaction() as session:
            applied = Counter({row.event_id: row.n for row in await session.execute(
                select(effects.c.event_id, func.count().label("n")).group_by(effects.c.event_id))})
            inbox = Counter((await session.execute(
                select(tables.inbox.c.event_id).where(tables.inbox.c.consumer == CONSUMER)
            )).scalars())
            dead = (await session.execute(
                select(func.count()).select_from(tables.dead_letters))).scalar_one()
            unpublished = (await session.execute(select(func.count()).select_from(
                tables.outbox).where(tables.outbox.c.published_at.is_(None)))).scalar_one()
        assert set(applied) == set(written), "missing or unknown event ids"
        assert sum(applied.values()) == EVENTS and set(applied.values()) == {1}
        assert set(inbox) == set(written) and set(inbox.values()) == {1}
        assert dead == 0 and unpublished == 0

        # Both replicas of each took part.
        assert all(relay.stats.published > 0 for relay in relays)
        assert sum(relay.stats.published for relay in relays) >= EVENTS
        assert all(consumer.stats.processed > 0 for consumer in consumers)

        # The stream, now led by a surviving node, holds every event (deduplicated by
        # Nats-Msg-Id, though a copy published across the election would be harmless anyway).
        info = await _stream_ready(js, stream, wait_for_all_replicas=False)
        assert info.cluster is not None and info.cluster.leader != victim.name
        ids = await _stream_event_ids(js, stream, info)
        assert set(ids) == {str(event_id) for event_id in written}

        # The node comes back, rejoins as a current replica, and the stream is whole.
        victim.start()
        await cluster.wait_accepting()
        info = await _stream_ready(js, stream)
        assert info.cluster is not None
        assert victim.name in {r.name for r in info.cluster.replicas or []} | {info.cluster.leader}
        assert info.state.messages == len(ids)
    finally:
        await observer.close()


async def _write_events(database: Database, settings: Settings,
                        written: list[uuid.UUID]) -> None:
    """EVENTS transactions, each a business row and its outbox row."""
    for i in range(EVENTS):
        change_id = uuid.uuid4()
        async with database.transaction() as session:
            await session.execute(insert(changes).values(id=change_id, label=f"change {i}"))
            envelope = await record_event(
                session, tables, settings,
                ApplicationSubmitted(application_id=change_id, school_urn="121234",
                                     financial_year="2025-26", kind="cohort",
                                     amount_requested="1000.00",
                                     submitted_at=datetime.now(UTC)),
                subject=str(change_id), correlation_id=None, traceparent=None,
                source=settings.event_source,
            )
        written.append(envelope.event_id)
        if i % 50 == 0:
            await asyncio.sleep(0)  # let the runners in between


async def _try(attempt: Any) -> bool:
    try:
        await attempt
    except Exception:
        return False
    return True


async def _stream_ready(js: JetStreamContext, stream: str, *,
                        wait_for_all_replicas: bool = True) -> StreamInfo:
    """The stream's info once it has a leader (and, by default, two current replicas)."""
    found: list[StreamInfo] = []

    async def ready() -> bool:
        try:
            info = await js.stream_info(stream)
        except Exception:
            return False
        cluster = info.cluster
        if cluster is None or not cluster.leader:
            return False
        replicas = cluster.replicas or []
        if wait_for_all_replicas and (len(replicas) != 2 or
                                      not all(r.current and not r.offline for r in replicas)):
            return False
        found[:] = [info]
        return True

    await poll(ready, timeout_s=WAIT_S, what=f"stream {stream} with a leader")
    return found[0]


async def _stream_event_ids(js: JetStreamContext, stream: str, info: StreamInfo) -> list[str]:
    ids: list[str] = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(stream, seq)
        ids.append(json.loads(message.data or b"{}")["id"])
    return ids


async def _count(database: Database, table: Table, test: Callable[[int], bool]) -> bool:
    async with database.transaction() as session:
        n = (await session.execute(select(func.count()).select_from(table))).scalar_one()
    return test(int(n))


async def _outbox_drained(database: Database) -> bool:
    async with database.transaction() as session:
        return 0 == (await session.execute(select(func.count()).select_from(tables.outbox).where(
            tables.outbox.c.published_at.is_(None)))).scalar_one()

