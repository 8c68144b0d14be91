"""Idempotent JetStream consumers: one transaction per message, inbox first, ack after commit.

For each message the runner opens one transaction, records the event id in the consumer's inbox
(``INSERT … ON CONFLICT DO NOTHING``), runs the handler only if the id is new, commits, and then
acknowledges. A crash between commit and ack means a redelivery that the inbox turns into a
no-op. When one fetch brings several messages they share one transaction (an inbox row and the
handler's effect for each, in stream order; each is acknowledged once it has committed); if any
of them fails, that transaction rolls back and each message is processed again alone, so a
failure is settled on its own and never undoes another message's effect.
A failing handler's transaction rolls back and the message is nak'ed with backoff;
after ``max_deliver`` deliveries it becomes a dead-letter row and is terminated, so it never
holds up the messages behind it.

``max_deliver`` is enforced here, not by JetStream: the JetStream consumer redelivers without
limit, so that a message whose dead letter cannot be written (PostgreSQL away) is retried
rather than silently dropped by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import asyncpg
import sqlalchemy.exc
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy import Executable, Text, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_shared.db import Database
from lfi_shared.messaging.backoff import Backoff
from lfi_shared.messaging.connection import close_quietly, connect_nats, durable_name
from lfi_shared.messaging.contracts import EventContract
from lfi_shared.messaging.envelope import Envelope, InvalidEnvelopeError
from lfi_shared.messaging.inbox import DeadLetter, record_dead_letter
from lfi_shared.messaging.tables import INBOX_PROCESSED, INBOX_SKIPPED, MessagingTables
from lfi_shared.settings import ServiceSettings

log = structlog.get_logger("lfi.messaging.consumer")

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
"""``async def handler(session, envelope) -> None``: apply the event's effect, never commit."""


class PermanentEventError(Exception):
    """Raised by a handler when retrying cannot help: the message is dead-lettered at once."""


class Outcome(StrEnum):
    PROCESSED = "processed"  # handler ran, committed, acked
    DUPLICATE = "duplicate"  # already in the inbox: acked without running the handler
    SKIPPED = "skipped"  # no handler for the type: recorded in the inbox and acked
    RETRY = "retry"  # failed: nak'ed with a delay
    DEAD_LETTERED = "dead_lettered"  # recorded as a dead letter and terminated


@dataclass
class ConsumerStats:
    """Counters for metrics (read by a Prometheus collector)."""

    processed: int = 0
    duplicates: int = 0
    skipped: int = 0
    retried: int = 0
    dead_lettered: int = 0
    failures: int = 0  # failed fetch rounds: NATS away, stream or consumer missing
    last_error: str | None = None


def _is_infrastructure_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is PostgreSQL being unreachable, not the handler."""
    seen: BaseException | None = exc
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, sqlalchemy.exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, (sqlalchemy.exc.TimeoutError, OSError,
                             asyncpg.PostgresConnectionError,
                             asyncpg.exceptions.OperatorInterventionError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ConsumerRunner:
    """A durable pull consumer of one producer's stream, dispatching to handlers by event type.

    ``name`` is the consumer's identity: its inbox rows and (namespaced) JetStream durable.
    Event types without a handler are recorded as skipped and acknowledged.
    """

    def __init__(
        self,
        *,
        name: str,
        database: Database,
        tables: MessagingTables,
        settings: ServiceSettings,
        producer: str,
        event_filter: str | Sequence[str] | None = None,
        handlers: Mapping[str, Handler] | None = None,
        nats_url: str | None = None,
        batch_size: int = 50,
        fetch_timeout_s: float = 5.0,
        max_deliver: int | None = None,
        ack_wait_s: float | None = None,
        retry_backoff: Backoff | None = None,
        reconnect_backoff: Backoff | None = None,
        nats_reconnect_wait_s: float = 1.0,
        check_consumer_every_s: float = 30.0,
    ) -> None:
        self.name = name
        self.durable = durable_name(settings, name)
        self.database = database
        self.tables = tables
        self.settings = settings
        self.producer = producer
        self.stream = settings.stream_name(producer)
        filters = [event_filter] if isinstance(event_filter, str) else list(event_filter or [])
        self.filter_subjects = [settings.subject_for(f) for f in filters or [f"lfi.{producer}.>"]]
        self.nats_url = nats_url or settings.nats_url
        self.batch_size = batch_size
        self.fetch_timeout_s = fetch_timeout_s
        self.max_deliver = max_deliver or settings.consumer_max_deliver
        self.ack_wait_s = ack_wait_s or settings.consumer_ack_wait_s
        self.retry_backoff = retry_backoff or Backoff(base_s=1.0, cap_s=60.0)
        self.reconnect_backoff = reconnect_backoff or Backoff(base_s=0.5, cap_s=30.0)
        self.nats_reconnect_wait_s = nats_reconnect_wait_s
        self.check_consumer_every_s = check_consumer_every_s
        self.stats = ConsumerStats()

        self._handlers: dict[str, Handler] = dict(handlers or {})
        self._claim = self._claim_statement()
        self._nc: Client | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self._stopping = asyncio.Event()
        self._processing = False
        self._last_check = 0.0
        self._task: asyncio.Task[None] | None = None

    # -- handlers ----------------------------------------------------------------------------

    def register(self, event: str | type[EventContract], handler: Handler) -> None:
        """Run ``handler`` for events of this type (a type name or a contract class).

        Raises:
            ValueError: a handler is registered for the type already.
        """
        event_type = event if isinstance(event, str) else event.event_type
        if event_type in self._handlers:
            raise ValueError(f"{self.name} already handles {event_type}")
        self._handlers[event_type] = handler

    def on(self, event: str | type[EventContract]) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register`."""

        def decorate(handler: Handler) -> Handler:
            self.register(event, handler)
            return handler

        return decorate

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Consume in a background task until ``stop()`` (connects in the background)."""
        if self._task is not None and not self._task.done():
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the batch in hand (not waiting for an idle fetch), then close the connection.

        Messages still unacknowledged after ``timeout_s`` are redelivered after ``ack_wait``.
        """
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            if not self._processing:
                task.cancel()  # only waiting for messages: nothing is lost
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout_s)
            except TimeoutError:
                task.cancel()
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise
            except Exception as exc:
                log.error("consumer_task_failed", consumer=self.name, error=repr(exc))
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.close()

    async def close(self) -> None:
        """Drop the subscription and close the NATS client."""
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        await close_quietly(self._nc)
        self._nc = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                await self.run_once()
                attempt = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                self.stats.failures += 1
                self.stats.last_error = repr(exc)[:500]
                delay = self.reconnect_backoff.delay(attempt)
                log.warning("consumer_round_failed", consumer=self.name, attempt=attempt,
                            retry_in_s=round(delay, 2), error=repr(exc))
                await self._reset_subscription()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    # -- fetching ----------------------------------------------------------------------------

    async def run_once(self) -> list[Outcome]:
        """Fetch one batch (waiting up to ``fetch_timeout_s``) and process it.

        Raises:
            nats.errors.Error, nats.js.errors.NotFoundError: NATS is away, or the stream does
                not exist yet (its producer's relay creates it).
            The errors of :meth:`_ack` (a lost acknowledgement is redelivered and deduplicated).
        """
        sub = await self._subscription()
        try:
            messages = await sub.fetch(self.batch_size, timeout=self.fetch_timeout_s)
        except TimeoutError:  # nats-py raises its own subclass or asyncio's: no messages
            await self._check_consumer_when_due(sub)
            return []
        self._processing = True
        try:
            return await self.process_batch(messages)
        finally:
            self._processing = False

    async def _subscription(self) -> JetStreamContext.PullSubscription:
        if self._sub is not None and self._nc is not None and not self._nc.is_closed:
            return self._sub
        if self._nc is None or self._nc.is_closed:
            self._nc = await connect_nats(self.nats_url, name=f"consumer-{self.name}",
                                          reconnect_wait_s=self.nats_reconnect_wait_s)
        js = self._nc.jetstream()
        await js.add_consumer(self.stream, config=self.consumer_config())
        self._sub = await js.pull_subscribe_bind(durable=self.durable, stream=self.stream)
        return self._sub

    async def _check_consumer_when_due(self, sub: JetStreamContext.PullSubscription) -> None:
        """An idle fetch cannot tell "no messages" from "the durable is gone" (deleted, or a
        server that lost its state): ask JetStream now and then.

        Raises:
            nats.js.errors.NotFoundError: the durable is gone (the loop creates it again).
        """
        now = time.monotonic()
        if now - self._last_check < self.check_consumer_every_s:
            return
        self._last_check = now
        if self._nc is not None and self._nc.is_connected:
            await sub.consumer_info()

    async def _reset_subscription(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def consumer_config(self) -> ConsumerConfig:
        """The durable JetStream consumer this runner creates (or updates) and binds to."""
        one = self.filter_subjects[0] if len(self.filter_subjects) == 1 else None
        return ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            description=f"{self.settings.service_name}: {self.name}",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_deliver=-1,  # enforced by the runner, see the module docstring
            filter_subject=one,
            filter_subjects=None if one else self.filter_subjects,
        )

    # -- a batch -----------------------------------------------------------------------------

    async def process_batch(self, messages: Sequence[Msg]) -> list[Outcome]:
        """Handle the messages of one fetch and settle each; their outcomes, in order.

        The events among them are handled in one transaction (inbox rows and effects, in stream
        order) and acknowledged after its commit. Should any of them fail, that transaction
        rolls back and each message goes through :meth:`process` alone: the failure is retried
        or dead-lettered by itself and the other messages' effects commit without it.
        Messages that are not envelopes are dead-lettered at once.

        Raises:
            The errors of :meth:`_ack` (a lost acknowledgement is redelivered and deduplicated).
        """
        if len(messages) <= 1:
            return [await self.process(msg) for msg in messages]
        outcomes: list[Outcome | None] = [None] * len(messages)
        batch: list[tuple[int, Msg, Envelope]] = []
        for index, msg in enumerate(messages):
            try:
                envelope = Envelope.from_bytes(msg.data)
            except InvalidEnvelopeError as exc:
                outcomes[index] = await self._give_up(msg, None, f"invalid envelope: {exc}",
                                                      msg.metadata.num_delivered or 1)
                continue
            batch.append((index, msg, envelope))

        if len(batch) == 1:
            index, msg, _ = batch[0]
            outcomes[index] = await self.process(msg)
        elif batch:
            settled = await self._process_together(batch)
            if settled is None:  # one of them failed: each on its own
                for index, msg, _ in batch:
                    outcomes[index] = await self.process(msg)
            else:
                for (index, _, _), outcome in zip(batch, settled, strict=True):
                    outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    async def _process_together(
        self, batch: Sequence[tuple[int, Msg, Envelope]],
    ) -> list[Outcome] | None:
        """Handle several events in one transaction and acknowledge them after its commit;
        None (nothing committed, nothing settled) when any of them failed."""
        ran: set[uuid.UUID] = set()
        fresh_flags: list[bool] = []
        try:
            async with (self._keep_alive(*(msg for _, msg, _ in batch)),
                        self.database.transaction() as session):
                fresh_ids = await self._claim_events(session, [env for _, _, env in batch])
                for _, _, envelope in batch:
                    # The same event twice in one fetch (a redelivery) runs once.
                    fresh = envelope.event_id in fresh_ids and envelope.event_id not in ran
                    ran.add(envelope.event_id)
                    fresh_flags.append(fresh)
                    handler = self._handlers.get(envelope.type)
                    if fresh and handler is not None:
                        await handler(session, envelope)
        except Exception as exc:
            log.info("consumer_batch_failed", consumer=self.name, messages=len(batch),
                     error=repr(exc)[:500])
            return None

        outcomes: list[Outcome] = []
        for (_, msg, envelope), fresh in zip(batch, fresh_flags, strict=True):
            await self._ack(msg)
            outcomes.append(self._count(fresh, envelope.type in self._handlers))
        return outcomes

    def _claim_statement(self) -> Executable:
        """``INSERT … ON CONFLICT DO NOTHING … RETURNING`` into the inbox, as
        :func:`lfi_shared.messaging.inbox.claim_event` does for one event, with the rows passed
        as arrays: one statement whatever the batch's size, built once (SQLAlchemy then reuses
        its compiled form and cache key)."""
        inbox = self.tables.inbox
        rows = func.unnest(
            bindparam("event_ids", type_=ARRAY(PG_UUID(as_uuid=True))),
            bindparam("event_types", type_=ARRAY(Text)),
            bindparam("outcomes", type_=ARRAY(Text)),
        ).table_valued("event_id", "event_type", "outcome").render_derived(name="batch")
        return (
            insert(inbox)
            .from_select(
                [inbox.c.consumer, inbox.c.event_id, inbox.c.event_type, inbox.c.outcome],
                select(literal(self.name, Text), rows.c.event_id, rows.c.event_type,
                       rows.c.outcome),
            )
            .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.event_id])
            .returning(inbox.c.event_id)
        )

    async def _claim_events(self, session: AsyncSession,
                            envelopes: Sequence[Envelope]) -> set[uuid.UUID]:
        """Record the events' ids in the inbox in one statement; the ids that were new."""
        result = await session.execute(self._claim, {
            "event_ids": [e.event_id for e in envelopes],
            "event_types": [e.type for e in envelopes],
            "outcomes": [INBOX_PROCESSED if e.type in self._handlers else INBOX_SKIPPED
                         for e in envelopes],
        })
        return set(result.scalars())

    def _count(self, fresh: bool, handled: bool) -> Outcome:
        """Count an acknowledged message in the stats; its outcome."""
        if not fresh:
            self.stats.duplicates += 1
            return Outcome.DUPLICATE
        if not handled:
            self.stats.skipped += 1
            return Outcome.SKIPPED
        self.stats.processed += 1
        return Outcome.PROCESSED

    # -- one message -------------------------------------------------------------------------

    async def process(self, msg: Msg) -> Outcome:
        """Handle one message in one transaction and settle it (ack, nak or term).

        Raises:
            The errors of :meth:`_ack`; every other failure is settled as a retry or dead letter.
        """
        deliveries = msg.metadata.num_delivered or 1
        try:
            envelope = Envelope.from_bytes(msg.data)
        except InvalidEnvelopeError as exc:
            return await self._give_up(msg, None, f"invalid envelope: {exc}", deliveries)

        handler = self._handlers.get(envelope.type)
        try:
            async with self._keep_alive(msg), self.database.transaction() as session:
                fresh = envelope.event_id in await self._claim_events(session, [envelope])
                if fresh and handler is not None:
                    await handler(session, envelope)
        except Exception as exc:
            return await self._after_failure(msg, envelope, exc, deliveries)

        await self._ack(msg)
        return self._count(fresh, handler is not None)

    async def _ack(self, msg: Msg) -> None:
        """Acknowledge a message whose effect has committed."""
        await msg.ack()

    async def _after_failure(self, msg: Msg, envelope: Envelope, exc: Exception,
                             deliveries: int) -> Outcome:
        error = f"{type(exc).__name__}: {exc}"
        log.warning("consumer_handler_failed", consumer=self.name, event_id=envelope.id,
                    event_type=envelope.type, deliveries=deliveries, error=error[:500])
        permanent = isinstance(exc, (PermanentEventError, ValidationError))
        if not _is_infrastructure_error(exc) and (permanent or deliveries >= self.max_deliver):
            return await self._give_up(msg, envelope, error, deliveries)
        return await self._retry_later(msg, deliveries)

    async def _retry_later(self, msg: Msg, deliveries: int) -> Outcome:
        await msg.nak(delay=self.retry_backoff.delay(deliveries))
        self.stats.retried += 1
        return Outcome.RETRY

    async def _give_up(self, msg: Msg, envelope: Envelope | None, error: str,
                       deliveries: int) -> Outcome:
        event_id = envelope.event_id if envelope is not None else _msg_id(msg)
        letter = DeadLetter(
            consumer=self.name,
            nats_subject=msg.subject,
            body=msg.data,
            error=error,
            deliveries=deliveries,
            event_id=event_id,
            event_type=envelope.type if envelope is not None else None,
            stream_sequence=msg.metadata.sequence.stream,
        )
        try:
            async with self.database.transaction() as session:
                await record_dead_letter(session, self.tables, letter)
        except Exception as exc:  # no record, no term: the message must come back
            log.error("consumer_dead_letter_failed", consumer=self.name, error=repr(exc))
            return await self._retry_later(msg, deliveries)
        await msg.term()
        self.stats.dead_lettered += 1
        log.error("consumer_dead_lettered", consumer=self.name, event_id=str(event_id),
                  deliveries=deliveries, error=error[:500])
        return Outcome.DEAD_LETTERED

    @contextlib.asynccontextmanager
    async def _keep_alive(self, *messages: Msg) -> AsyncIterator[None]:
        """Tell JetStream the messages are in progress while a slow handler runs."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(self.ack_wait_s / 2)
                for msg in messages:
                    with contextlib.suppress(Exception):
                        await msg.in_progress()

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _msg_id(msg: Msg) -> uuid.UUID | None:
    raw = (msg.headers or {}).get("Nats-Msg-Id")
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None
