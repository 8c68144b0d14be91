"""The outbox relay: the only code that publishes a service's events to NATS.

It takes unpublished outbox rows in ``created_at`` order (``FOR UPDATE SKIP LOCKED``, so
several relays can share one outbox), sends the whole batch with ``Nats-Msg-Id`` = event id
(pipelined on one connection, so in order), then waits for JetStream's acknowledgements and
marks the acknowledged rows published in one UPDATE, in the same transaction. A relay that dies
between publishing and committing republishes on its next run; JetStream drops the duplicate
within the stream's duplicate window. While a batch waits for its acknowledgements the next one
is already claimed and sent (when the batch was full or new rows were notified), on the relay's
own two connections, never queued behind the service's requests for a pooled one.

The relay talks to PostgreSQL through asyncpg directly, with its few statements written once:
it is on the path of every event, and an ORM session costs several times the CPU of the
round trip itself (the claim is on the latency path from a commit to its consumers).

It is woken by LISTEN on the outbox channel and polls as a fallback. While NATS or PostgreSQL
is away it keeps retrying with capped, jittered exponential backoff; rows are never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import NamedTuple

import asyncpg
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck

from lfi_shared.db import Database, to_asyncpg_dsn
from lfi_shared.messaging.backoff import Backoff
from lfi_shared.messaging.connection import close_quietly, connect_nats
from lfi_shared.messaging.envelope import CLOUDEVENTS_CONTENT_TYPE
from lfi_shared.messaging.streams import ensure_stream
from lfi_shared.messaging.tables import MessagingTables
from lfi_shared.settings import ServiceSettings

log = structlog.get_logger("lfi.messaging.relay")

# How often published rows older than relay_prune_after_s are deleted.
PRUNE_EVERY_S = 60.0
# The relay's own connections (besides its LISTEN connection): at most two batches in flight.
RELAY_CONNECTIONS = 2


class RelayPublishError(RuntimeError):
    """Publishing a batch stopped at a row NATS did not acknowledge (the rest stay queued)."""


class PendingEvent(NamedTuple):
    """An outbox row waiting to be published."""

    id: uuid.UUID
    nats_subject: str
    payload: bytes  # the envelope's JSON, as the message body


@dataclass
class RelayStats:
    """Counters for metrics (read by a Prometheus collector)."""

    published: int = 0
    duplicates: int = 0  # JetStream had the message already (a republish after a crash)
    failures: int = 0  # failed runs: NATS or PostgreSQL away, publish not acknowledged
    pruned: int = 0
    last_error: str | None = None


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Statements:
    """The relay's SQL on one outbox table (asyncpg's ``$n`` parameters)."""

    claim: str  # $1: batch size
    mark_published: str  # $1: the ids
    mark_failed: str  # $1: the id, $2: the error
    prune: str  # $1: seconds

    @classmethod
    def on(cls, tables: MessagingTables) -> _Statements:
        # The only name put into the SQL is our own table's, quoted; every value is a parameter.
        table = tables.outbox
        outbox = f"{_quoted(table.schema or tables.schema)}.{_quoted(table.name)}"
        return cls(
            # The envelope as PostgreSQL's JSON text: published as it is, never parsed here.
            claim=(f"SELECT id, nats_subject, payload::text FROM {outbox} "  # noqa: S608
                   "WHERE published_at IS NULL ORDER BY created_at, seq LIMIT $1 "
                   "FOR UPDATE SKIP LOCKED"),
            mark_published=(f"UPDATE {outbox} SET published_at = now(), "  # noqa: S608
                            "attempts = attempts + 1, last_error = NULL "
                            "WHERE id = ANY($1::uuid[])"),
            mark_failed=(f"UPDATE {outbox} "  # noqa: S608
                         "SET attempts = attempts + 1, last_error = $2 WHERE id = $1"),
            prune=(f"DELETE FROM {outbox} WHERE published_at IS NOT NULL "  # noqa: S608
                   "AND published_at < now() - make_interval(secs => $1)"),
        )


class OutboxRelay:
    """Publishes one service's outbox to its JetStream stream.

    ``start()`` runs it in the background until ``stop()``; ``run_once()`` publishes one batch
    (for tests and tools).
    """

    def __init__(
        self,
        *,
        database: Database,
        tables: MessagingTables,
        settings: ServiceSettings,
        producer: str,
        nats_url: str | None = None,
        batch_size: int | None = None,
        poll_interval_s: float | None = None,
        prune_after_s: float | None = None,
        publish_timeout_s: float = 5.0,
        retry_backoff: Backoff | None = None,
        nats_reconnect_wait_s: float = 1.0,
        name: str | None = None,
    ) -> None:
        self.database = database
        self.tables = tables
        self._sql = _Statements.on(tables)
        # The relay's own connections (at most RELAY_CONNECTIONS): never queued behind the
        # service's requests for a connection of its pool. Made on first use, kept while they
        # work, closed by close().
        self._idle: list[asyncpg.Connection] = []
        self._slots = asyncio.Semaphore(RELAY_CONNECTIONS)
        self.settings = settings
        self.producer = producer
        self.nats_url = nats_url or settings.nats_url
        self.batch_size = batch_size or settings.relay_batch_size
        self.poll_interval_s = poll_interval_s or settings.relay_poll_interval_s
        self.prune_after_s = (
            settings.relay_prune_after_s if prune_after_s is None else prune_after_s
        )
        self.publish_timeout_s = publish_timeout_s
        self.retry_backoff = retry_backoff or Backoff(base_s=0.5, cap_s=30.0)
        self.nats_reconnect_wait_s = nats_reconnect_wait_s
        self.name = name or f"{settings.service_name}-outbox-relay"
        self.stats = RelayStats()

        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = False
        self._listener: asyncpg.Connection | None = None
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._batches_in_hand = 0
        self._last_prune = 0.0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Run the relay in a background task (returns at once; connects in the background)."""
        if self._task is not None and not self._task.done():
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Let the batch in hand finish, then close the connections.

        A batch still running after ``timeout_s`` is cancelled; its rows stay unpublished (or
        published but unmarked, which the next relay's run republishes harmlessly).
        """
        self._stopping.set()
        self._wakeup.set()
        task, self._task = self._task, None
        if task is not None and not task.done():
            if not self._batches_in_hand:
                task.cancel()  # connecting or sleeping: nothing to finish
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout_s)
            except TimeoutError:
                task.cancel()
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise
            except Exception as exc:  # the loop never raises, but a stop must not either
                log.error("relay_task_failed", relay=self.name, error=repr(exc))
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.close()

    async def close(self) -> None:
        """Close the NATS client, the LISTEN connection and the relay's own connections."""
        await self._close_listener()
        await close_quietly(self._nc)
        self._nc = None
        self._js = None
        self._stream_ready = False
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close_connection(conn)

    async def _connect(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            to_asyncpg_dsn(self.database.url), timeout=5,
            server_settings={"application_name": self.name[:63]})
        return conn

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """One of the relay's own connections (two at most: a batch being acknowledged and
        the next one being claimed). One that fails or is interrupted is closed, not reused.
        """
        async with self._slots:
            conn = None
            while self._idle and conn is None:
                conn = self._idle.pop()
                if conn.is_closed():
                    conn = None
            if conn is None:
                conn = await self._connect()
            try:
                yield conn
            except BaseException:
                conn.terminate()
                raise
            self._idle.append(conn)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Ask the background loop to look at the outbox now."""
        self._wakeup.set()

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                await self._ensure_listener()
                self._wakeup.clear()
                await self._publish_backlog()
                attempt = 0
                await self._prune_if_due()
                await self._sleep(self.poll_interval_s, wake_early=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                delay = self.retry_backoff.delay(attempt)
                log.warning("relay_run_failed", relay=self.name, attempt=attempt,
                            retry_in_s=round(delay, 2), error=repr(exc))
                await self._sleep(delay, wake_early=False)

    async def _sleep(self, seconds: float, *, wake_early: bool) -> None:
        event = self._wakeup if wake_early else self._stopping
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    # -- publishing --------------------------------------------------------------------------

    async def _publish_backlog(self) -> None:
        """Publish batches until one is not full and no new rows were notified while it was
        in flight (or the relay is stopping).

        While a batch waits for its acknowledgements and marks its rows, the next batch is
        claimed and sent when the batch was full or new rows were notified meanwhile: at most
        two batches are in flight, and a batch is claimed only once the one before it has sent
        all its messages, so the stream keeps the outbox's order.

        Raises:
            The errors of :meth:`run_once`, once the other batch in flight has finished.
        """
        loop = asyncio.get_running_loop()
        in_flight: list[asyncio.Task[int]] = []
        try:
            while True:
                self._wakeup.clear()
                sent: asyncio.Future[int] = loop.create_future()
                batch = asyncio.create_task(self._run_batch(sent))
                in_flight.append(batch)
                await asyncio.wait([batch, sent], return_when=asyncio.FIRST_COMPLETED)
                if len(in_flight) == 2:
                    await in_flight.pop(0)  # the batch before: acknowledged and marked
                full = sent.done() and sent.result() >= self.batch_size
                if full and not self._stopping.is_set():
                    # More rows may be waiting: claim the next batch, even when this one is
                    # already acknowledged and marked (a fast round must not end the backlog).
                    if batch.done():
                        in_flight.remove(batch)
                        await batch
                    continue
                if not full:
                    # Not full: done once it is, unless new rows are notified meanwhile.
                    woken = asyncio.ensure_future(self._wakeup.wait())
                    try:
                        await asyncio.wait([batch, woken], return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        woken.cancel()
                if batch.done() or self._stopping.is_set():
                    await batch
                    in_flight.clear()
                    return
        except asyncio.CancelledError:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            raise
        except Exception:
            await asyncio.gather(*in_flight, return_exceptions=True)
            raise

    async def run_once(self) -> int:
        """Publish one batch of unpublished rows; return how many were published.

        Raises:
            RelayPublishError: NATS did not acknowledge a row; the rows before it are marked
                published, it and the rows after it stay queued.
            TimeoutError, nats.errors.Error: NATS cannot be reached.
            asyncpg.PostgresError, OSError: PostgreSQL cannot be reached.
        """
        return await self._run_batch(None)

    async def _run_batch(self, sent: asyncio.Future[int] | None) -> int:
        """:meth:`run_once`, setting ``sent`` to the batch's size once its messages are sent.

        Raises:
            The errors of :meth:`run_once`.
        """
        published: list[uuid.UUID] = []
        failure: BaseException | None = None
        self._batches_in_hand += 1
        try:
            js = await self._jetstream()
            async with self._connection() as conn, conn.transaction():
                rows = await self._claim_batch(conn)
                futures, unsent = await self._send_batch(js, rows)
                if sent is not None:
                    sent.set_result(len(rows))
                acks = await self._await_acks(futures, unsent, len(rows))
                for row, ack in zip(rows, acks, strict=True):
                    if not isinstance(ack, PubAck):
                        failure = ack
                        await self._mark_failed(conn, row.id, ack)
                        break
                    published.append(row.id)
                    if ack.duplicate:
                        self.stats.duplicates += 1
                if published:
                    await self._mark_published(conn, published)
            self.stats.published += len(published)
        except Exception as exc:
            self._record_failure(exc)
            raise
        finally:
            self._batches_in_hand -= 1
        if failure is not None:
            self._stream_ready = False  # the stream may have been deleted: check on next run
            self._record_failure(failure)
            raise RelayPublishError(f"{len(published)} published, then: {failure!r}") from failure
        return len(published)

    async def publish_all(self, *, max_batches: int = 10_000) -> int:
        """Run batches until the outbox has nothing this relay can take; return how many.

        Raises:
            The errors of :meth:`run_once`.
        """
        total = 0
        for _ in range(max_batches):
            count = await self.run_once()
            total += count
            if count < self.batch_size:
                break
        return total

    async def _claim_batch(self, conn: asyncpg.Connection) -> list[PendingEvent]:
        rows = await conn.fetch(self._sql.claim, self.batch_size)
        return [PendingEvent(id_, subject, body.encode()) for id_, subject, body in rows]

    async def _send_batch(
        self, js: JetStreamContext, rows: list[PendingEvent],
    ) -> tuple[list[asyncio.Future[PubAck]], BaseException | None]:
        """Send a batch's messages without waiting for any acknowledgement: the futures of
        their PubAcks, and the error that stopped the sending, if one did.

        One connection carries the messages in the order they are sent, so JetStream stores
        them in ``created_at`` order as one-by-one publishing would, for one round trip per
        batch instead of one per row.
        """
        futures: list[asyncio.Future[PubAck]] = []
        try:
            for row in rows:
                futures.append(await self._send(js, row.id, row.nats_subject, row.payload))
        except asyncio.CancelledError:
            for future in futures:
                future.cancel()
            raise
        except Exception as exc:
            return futures, exc
        return futures, None

    async def _await_acks(self, futures: list[asyncio.Future[PubAck]],
                          unsent: BaseException | None,
                          size: int) -> list[PubAck | BaseException]:
        """Wait (``publish_timeout_s`` for the whole batch) for the acknowledgements; each
        row's PubAck or the error in its place, in the batch's order. A row whose message
        could not be sent, and every row after it, gets the error that stopped the sending.
        """
        try:
            if futures:
                await asyncio.wait(futures, timeout=self.publish_timeout_s)
        finally:
            for future in futures:
                if not future.done():
                    future.cancel()  # no acknowledgement in time (or the relay is stopping)
        results: list[PubAck | BaseException] = []
        for future in futures:
            if future.cancelled():
                results.append(TimeoutError(
                    f"no acknowledgement from JetStream within {self.publish_timeout_s}s"))
            else:
                error = future.exception()
                results.append(error if error is not None else future.result())
        if unsent is not None:
            results += [unsent] * (size - len(futures))
        return results

    async def _send(self, js: JetStreamContext, event_id: uuid.UUID, nats_subject: str,
                    body: bytes) -> asyncio.Future[PubAck]:
        """Send one row's message (``Nats-Msg-Id`` = event id); the future of its PubAck."""
        return await js.publish_async(
            nats_subject,
            body,
            headers={"Nats-Msg-Id": str(event_id), "Content-Type": CLOUDEVENTS_CONTENT_TYPE},
        )

    async def _mark_published(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
        await conn.execute(self._sql.mark_published, ids)

    async def _mark_failed(self, conn: asyncpg.Connection, event_id: uuid.UUID,
                           exc: BaseException) -> None:
        await conn.execute(self._sql.mark_failed, event_id, repr(exc)[:2000])

    def _record_failure(self, exc: BaseException) -> None:
        self.stats.failures += 1
        self.stats.last_error = repr(exc)[:500]

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is None or self._nc.is_closed:
            self._nc = await connect_nats(self.nats_url, name=self.name,
                                          reconnect_wait_s=self.nats_reconnect_wait_s)
            # Room for a whole batch of unacknowledged messages: sending never waits (a
            # batch's futures are all settled before the next batch is sent).
            self._js = self._nc.jetstream(timeout=self.publish_timeout_s,
                                          publish_async_max_pending=max(4000, self.batch_size))
            self._stream_ready = False
        assert self._js is not None
        if not self._stream_ready:
            await ensure_stream(self._js, self.settings, self.producer)
            self._stream_ready = True
        return self._js

    # -- pruning -----------------------------------------------------------------------------

    async def prune(self) -> int:
        """Delete rows published more than ``prune_after_s`` ago; return how many.

        Raises:
            asyncpg.PostgresError, OSError: PostgreSQL cannot be reached.
        """
        async with self._connection() as conn:
            status: str = await conn.execute(self._sql.prune, float(self.prune_after_s))
        count = int(status.rsplit(" ", 1)[-1])  # "DELETE <n>"
        self.stats.pruned += count
        return count

    async def _prune_if_due(self) -> None:
        now = time.monotonic()
        if now - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = now
        try:
            await self.prune()
        except Exception as exc:  # pruning is housekeeping: retry on the next round
            log.warning("relay_prune_failed", relay=self.name, error=repr(exc))

    # -- LISTEN ------------------------------------------------------------------------------

    async def _ensure_listener(self) -> None:
        """Keep a dedicated connection LISTENing; without one the relay still polls."""
        if self._listener is not None and not self._listener.is_closed():
            return
        await self._close_listener()
        try:
            conn = await asyncpg.connect(to_asyncpg_dsn(self.database.url), timeout=5)
            await conn.add_listener(self.tables.notify_channel, self._on_notify)
            conn.add_termination_listener(self._on_listener_lost)
        except Exception as exc:
            log.warning("relay_listen_failed", relay=self.name, error=repr(exc))
            return
        self._listener = conn
        # Rows may have committed while nobody listened.
        self._wakeup.set()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, _payload: object) -> None:
        self._wakeup.set()

    def _on_listener_lost(self, _conn: object) -> None:
        log.warning("relay_listen_connection_lost", relay=self.name)
        self._wakeup.set()  # the loop reconnects on its next round

    async def _close_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            await _close_connection(conn)


async def _close_connection(conn: asyncpg.Connection) -> None:
    if conn.is_closed():
        return
    try:
        await asyncio.wait_for(conn.close(), timeout=5)
    except Exception:
        conn.terminate()
