"""What the messaging tests share: a service schema with messaging tables, test contracts,
relays and consumers with short timings, and ways to look into a stream."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, overload

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
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
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_shared.db import Database, make_metadata
from lfi_shared.messaging import (
    Backoff,
    ConsumerRunner,
    Envelope,
    EventContract,
    MessagingTables,
    OutboxRelay,
    Outcome,
    add_messaging_tables,
    record_event,
)
from lfi_shared.settings import ServiceSettings
from lfi_shared.testing.plugin import role_for_tests

PRODUCER = "shop"
SOURCE = "/lfi/shop"


class OrderPlaced(EventContract):
    event_type: ClassVar[str] = "lfi.shop.order.placed.v1"
    order_id: uuid.UUID
    label: str


class OrderCancelled(EventContract):
    event_type: ClassVar[str] = "lfi.shop.order.cancelled.v1"
    order_id: uuid.UUID


async def wait_until(check: Callable[[], bool | Awaitable[bool]], *, timeout_s: float = 15.0,
                     interval_s: float = 0.05, what: str = "condition") -> None:
    """Poll ``check`` (plain or async) until it is true; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


@asynccontextmanager
async def jetstream(url: str) -> AsyncIterator[JetStreamContext]:
    """A plain NATS client for looking into streams."""
    nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=5,
                            reconnect_time_wait=0.2)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def stream_messages(js: JetStreamContext, stream: str) -> list[RawStreamMsg]:
    """Every message the stream holds, in order."""
    info = await js.stream_info(stream)
    state = info.state
    if state.messages == 0:
        return []
    return [await js.get_msg(stream, seq) for seq in range(state.first_seq, state.last_seq + 1)]


def envelope_ids(messages: list[RawStreamMsg]) -> list[str]:
    """The envelope ids of stream messages, in order."""
    return [json.loads(m.data or b"{}")["id"] for m in messages]


R = TypeVar("R", bound=OutboxRelay)
C = TypeVar("C", bound=ConsumerRunner)


class RecordingConsumer(ConsumerRunner):
    """A consumer that remembers every delivery it saw: (event id, delivery count, outcome)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[tuple[str | None, int, Outcome]] = []

    async def process_batch(self, messages: Sequence[Msg]) -> list[Outcome]:
        outcomes = await super().process_batch(messages)
        for msg, outcome in zip(messages, outcomes, strict=True):
            ident = (msg.headers or {}).get("Nats-Msg-Id")
            self.seen.append((ident, msg.metadata.num_delivered, outcome))
        return outcomes


@dataclass
class Harness:
    """One service schema with messaging tables, a ``changes`` table and an ``effects`` table."""

    schema: str
    role: str
    url: str
    database: Database
    tables: MessagingTables
    changes: Table
    effects: Table
    settings: ServiceSettings
    relays: list[OutboxRelay] = field(default_factory=list)
    consumers: list[ConsumerRunner] = field(default_factory=list)

    @property
    def stream(self) -> str:
        return self.settings.stream_name(PRODUCER)

    # -- writing -----------------------------------------------------------------------------

    async def record_order(self, session: AsyncSession, label: str) -> Envelope:
        """A business change (a row in ``changes``) and its event, in the caller's transaction."""
        order_id = uuid.uuid4()
        await session.execute(insert(self.changes).values(id=order_id, label=label))
        return await record_event(
            session, self.tables, self.settings, OrderPlaced(order_id=order_id, label=label),
            subject=str(order_id), correlation_id=None, traceparent=None, source=SOURCE,
        )

    async def place_order(self, label: str = "order") -> Envelope:
        """One change and its event, committed in a transaction of their own."""
        async with self.database.transaction() as session:
            return await self.record_order(session, label)

    # -- reading -----------------------------------------------------------------------------

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.database.transaction() as session:
            return (await session.execute(text(sql), params)).scalar()

    async def unpublished(self) -> int:
        return int(await self.scalar(
            f"SELECT count(*) FROM {self.schema}.outbox WHERE published_at IS NULL"))

    async def outbox_drained(self) -> bool:
        return await self.unpublished() == 0

    async def effects_total(self) -> int:
        return sum((await self.effect_counts()).values())

    async def count_rows(self, table: Table) -> int:
        async with self.database.transaction() as session:
            result = await session.execute(select(func.count()).select_from(table))
            return int(result.scalar_one())

    async def outbox_size(self) -> int:
        return int(await self.scalar(f"SELECT count(*) FROM {self.schema}.outbox"))

    async def effect_counts(self) -> dict[uuid.UUID, int]:
        """How many times each event's effect was applied."""
        async with self.database.transaction() as session:
            rows = await session.execute(
                select(self.effects.c.event_id, func.count())
                .group_by(self.effects.c.event_id)
            )
            return {event_id: count for event_id, count in rows}

    # -- handlers ----------------------------------------------------------------------------

    async def apply_effect(self, session: AsyncSession, envelope: Envelope) -> None:
        """The consumers' handler: one ``effects`` row per application (duplicates allowed)."""
        await session.execute(insert(self.effects).values(event_id=envelope.event_id))

    # -- runners -----------------------------------------------------------------------------

    @overload
    def relay(self, cls: None = None, **overrides: Any) -> OutboxRelay: ...
    @overload
    def relay(self, cls: type[R], **overrides: Any) -> R: ...

    def relay(self, cls: type[OutboxRelay] | None = None, **overrides: Any) -> OutboxRelay:
        """A relay on this schema with test timings (``cls`` for a faulty subclass)."""
        options: dict[str, Any] = {
            "database": self.database,
            "tables": self.tables,
            "settings": self.settings,
            "producer": PRODUCER,
            "publish_timeout_s": 0.5,
            "retry_backoff": Backoff(base_s=0.05, cap_s=0.4),
            "nats_reconnect_wait_s": 0.1,
        }
        options.update(overrides)
        relay = (cls or OutboxRelay)(**options)
        self.relays.append(relay)
        return relay

    @overload
    def consumer(self, name: str, cls: None = None, *, with_handler: bool = True,
                 **overrides: Any) -> RecordingConsumer: ...
    @overload
    def consumer(self, name: str, cls: type[C], *, with_handler: bool = True,
                 **overrides: Any) -> C: ...

    def consumer(self, name: str, cls: type[ConsumerRunner] | None = None, *,
                 with_handler: bool = True, **overrides: Any) -> ConsumerRunner:
        """A consumer on this schema with test timings, applying ``effects`` for OrderPlaced."""
        options: dict[str, Any] = {
            "name": name,
            "database": self.database,
            "tables": self.tables,
            "settings": self.settings,
            "producer": PRODUCER,
            "fetch_timeout_s": 0.3,
            "retry_backoff": Backoff(base_s=0.1, cap_s=0.3, jitter=False),
            "reconnect_backoff": Backoff(base_s=0.05, cap_s=0.4),
            "nats_reconnect_wait_s": 0.1,
            "check_consumer_every_s": 0.5,
        }
        if with_handler:
            options["handlers"] = {OrderPlaced.event_type: self.apply_effect}
        options.update(overrides)
        consumer = (cls or RecordingConsumer)(**options)
        self.consumers.append(consumer)
        return consumer

    async def close(self) -> None:
        for consumer in self.consumers:
            await consumer.stop(timeout_s=2)
        for relay in self.relays:
            await relay.stop(timeout_s=2)
        await self.database.dispose()


async def make_harness(make_service_schema: Callable[[str], Awaitable[str]], *,
                       nats_url: str, nats_namespace: str) -> Harness:
    """A fresh schema (own role), its tables, and settings with short timings."""
    suffix = uuid.uuid4().hex[:10]
    schema = f"msg_{suffix}"
    url = await make_service_schema(schema)
    metadata = make_metadata(schema)
    tables = add_messaging_tables(metadata)
    changes = Table(
        "changes", metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("label", Text, nullable=False),
    )
    effects = Table(
        "effects", metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", UUID(as_uuid=True), nullable=False),  # no unique: duplicates show
        Column("applied_at", DateTime(timezone=True), nullable=False,
               server_default=func.clock_timestamp()),
    )
    database = Database(url, pool_size=5, max_overflow=5, application_name=f"test-{schema}")
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    settings = ServiceSettings(
        environment="test",
        service_name="shop",
        database_url=url,
        db_schema=schema,
        nats_url=nats_url,
        nats_namespace=f"{nats_namespace}_{suffix}",
        relay_poll_interval_s=0.05,
        relay_batch_size=100,
        consumer_ack_wait_s=1.0,
        consumer_max_deliver=3,
    )
    return Harness(schema=schema, role=role_for_tests(schema), url=url, database=database,
                   tables=tables, changes=changes, effects=effects, settings=settings)
