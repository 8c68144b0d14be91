"""Replays: republish a range of stored events to a named consumer, to rebuild a read model.

Design. The source is the event store (it keeps every event for ever; a JetStream stream keeps
them only within its limits). A replay is a row in ``replays`` (queued by
``POST /v1/events/replays``); this worker takes pending rows (``FOR UPDATE SKIP LOCKED``, so
several instances share the work), and publishes each matching envelope, unchanged, in store
order, to ``lfi.replays.<consumer>.<event type>`` on the ``LFI_REPLAYS`` stream, with
``Nats-Msg-Id = <replay id>:<event id>``. It records its progress (``last_position``) after
each batch, so a crash resumes where it stopped (JetStream's duplicate window and the
consumer's inbox absorb the overlap).

The named consumer reads its replays with the platform's own consumer runner::

    Subscription(name="<consumer>-rebuild", producer="replays",
                 event_filter="lfi.replays.<consumer>.>", handlers={...})

Its handlers are the ones it uses for live events (the envelopes are the originals). To
rebuild from scratch the service clears its read model, and uses a consumer name whose inbox
is empty (the inbox dedupes by consumer and event id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from sqlalchemy import func, select, update
from sqlalchemy.engine import Row

from lfi_events.db.models import replays, stored_events
from lfi_events.settings import Settings
from lfi_shared.db import Database
from lfi_shared.messaging import connect_nats
from lfi_shared.messaging.connection import close_quietly
from lfi_shared.messaging.envelope import CLOUDEVENTS_CONTENT_TYPE

log = structlog.get_logger("lfi.events.replay")

SUBJECT_FILTER = re.compile(r"^[a-z0-9_]+(\.([a-z0-9_]+|\*))*(\.>)?$|^>$")


def replay_stream_config(settings: Settings) -> StreamConfig:
    return StreamConfig(
        name=settings.stream_name("replays"),
        description="Events replayed to a named consumer (events service)",
        subjects=[settings.subject_for("lfi.replays.>")],
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        storage=StorageType.FILE,
        num_replicas=settings.nats_stream_replicas,
        max_age=settings.replays_max_age_s,
        duplicate_window=120.0,
    )


def type_pattern(subject_filter: str) -> str:
    """A PostgreSQL regular expression matching the event types a NATS filter selects."""
    if subject_filter == ">":
        return "^.*$"
    parts = []
    for token in subject_filter.split("."):
        if token == "*":
            parts.append(r"[^.]+")
        elif token == ">":
            parts.append(r".+")
        else:
            parts.append(re.escape(token))
    return "^" + r"\.".join(parts) + "$"


def envelope_of(row: Row[Any]) -> dict[str, Any]:
    """The CloudEvents envelope of a stored event, as published."""
    envelope: dict[str, Any] = {
        "specversion": "1.0", "id": str(row.id), "source": row.source, "type": row.type,
        "subject": row.subject, "time": row.time.isoformat(),
        "datacontenttype": "application/json", "dataschema": row.dataschema, "data": row.data,
    }
    if row.correlation_id is not None:
        envelope["correlationid"] = row.correlation_id
    if row.traceparent is not None:
        envelope["traceparent"] = row.traceparent
    return envelope


class ReplayWorker:
    """Publishes queued replays (a worker of the app)."""

    def __init__(self, *, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._nc: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._stream_ready = False

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="events-replays")

    async def stop(self) -> None:
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await close_quietly(self._nc)
        self._nc = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                while await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("replay_round_failed", error=repr(exc))
                await close_quietly(self._nc)
                self._nc = None
                self._stream_ready = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.replay_poll_interval_s)

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is None or self._nc.is_closed:
            self._nc = await connect_nats(self.settings.nats_url, name="events-replays")
        js = self._nc.jetstream()
        if not self._stream_ready:
            config = replay_stream_config(self.settings)
            assert config.name is not None
            try:
                await js.stream_info(config.name)
                await js.update_stream(config)
            except NotFoundError:
                await js.add_stream(config)
            self._stream_ready = True
        return js

    async def run_once(self) -> bool:
        """Publish one batch of the oldest unfinished replay; False when none is waiting."""
        async with self.database.transaction() as session:
            job = (await session.execute(
                select(replays).where(replays.c.status.in_(("pending", "running")))
                .order_by(replays.c.requested_at).limit(1).with_for_update(skip_locked=True)
            )).first()
            if job is None:
                return False
            js = await self._jetstream()
            c = stored_events.c
            stmt = select(stored_events).where(
                c.type.regexp_match(type_pattern(job.subject_filter)))
            after = job.last_position if job.last_position is not None else (
                (job.from_position or 1) - 1)
            stmt = stmt.where(c.position > after)
            if job.to_position is not None:
                stmt = stmt.where(c.position <= job.to_position)
            if job.from_time is not None:
                stmt = stmt.where(c.time >= job.from_time)
            if job.to_time is not None:
                stmt = stmt.where(c.time < job.to_time)
            rows = (await session.execute(
                stmt.order_by(c.position).limit(self.settings.replay_batch_size))).all()
            for row in rows:
                await js.publish(
                    self.settings.subject_for(f"lfi.replays.{job.consumer}.{row.type}"),
                    json.dumps(envelope_of(row), separators=(",", ":")).encode(),
                    headers={"Nats-Msg-Id": f"{job.id}:{row.id}",
                             "Content-Type": CLOUDEVENTS_CONTENT_TYPE},
                )
            done = len(rows) < self.settings.replay_batch_size
            await session.execute(
                update(replays).where(replays.c.id == job.id).values(
                    status="completed" if done else "running",
                    published=replays.c.published + len(rows),
                    last_position=rows[-1].position if rows else job.last_position,
                    finished_at=func.now() if done else None,
                ))
        if done:
            log.info("replay_completed", replay_id=str(job.id), consumer=job.consumer)
        return True
