"""The event store's reads and writes (flush, never commit: the caller owns the transaction)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_events.db.models import rejected_events, stored_events
from lfi_events.domain.journey import referral_id_of
from lfi_shared.messaging import Envelope


@dataclass(frozen=True)
class EventFilter:
    """Filters of the store's queries (all optional, combined with AND)."""

    type: str | None = None
    type_prefix: str | None = None
    source: str | None = None
    subject: str | None = None
    correlation_id: str | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        c = stored_events.c
        if self.type is not None:
            stmt = stmt.where(c.type == self.type)
        if self.type_prefix is not None:
            stmt = stmt.where(c.type.startswith(self.type_prefix, autoescape=True))
        if self.source is not None:
            stmt = stmt.where(c.source == self.source)
        if self.subject is not None:
            stmt = stmt.where(c.subject == self.subject)
        if self.correlation_id is not None:
            stmt = stmt.where(c.correlation_id == self.correlation_id)
        if self.time_from is not None:
            stmt = stmt.where(c.time >= self.time_from)
        if self.time_to is not None:
            stmt = stmt.where(c.time < self.time_to)
        return stmt


def _store_lock_key(schema: str) -> int:
    # A stable 63-bit key per schema for pg_advisory_xact_lock.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"lfi:{schema}:stored_events").int >> 65


async def insert_event(session: AsyncSession, envelope: Envelope, *, stream: str,
                       stream_sequence: int) -> bool:
    """Append ``envelope`` to the store; False when its id is stored already.

    Inserts are serialised per store (a transaction-scoped advisory lock held to commit), so
    ``position`` order is commit order: a live reader that has seen position N can never later
    see a smaller one appear (no gap on resume).
    """
    schema = stored_events.schema or "events"
    await session.execute(select(func.pg_advisory_xact_lock(literal(_store_lock_key(schema)))))
    result = await session.execute(
        insert(stored_events)
        .values(
            id=envelope.event_id,
            type=envelope.type,
            source=envelope.source,
            subject=envelope.subject,
            time=envelope.time,
            correlation_id=envelope.correlationid,
            traceparent=envelope.traceparent,
            dataschema=envelope.dataschema,
            data=envelope.data,
            referral_id=referral_id_of(envelope.type, envelope.subject, envelope.data),
            stream=stream,
            stream_sequence=stream_sequence,
            received_at=func.now(),
        )
        .on_conflict_do_nothing(index_elements=[stored_events.c.id])
        .returning(stored_events.c.position)
    )
    return result.scalar_one_or_none() is not None


async def insert_rejection(session: AsyncSession, *, event_id: uuid.UUID | None,
                           event_type: str | None, source: str | None, subject: str | None,
                           stream: str, stream_sequence: int,
                           reasons: list[dict[str, str]]) -> None:
    """Record an event the store refused: where and why, never its values."""
    await session.execute(
        insert(rejected_events)
        .values(event_id=event_id, type=event_type, source=source, subject=subject,
                stream=stream, stream_sequence=stream_sequence, reasons=reasons,
                received_at=func.now())
        .on_conflict_do_nothing(index_elements=[rejected_events.c.event_id])
    )


def events_query(filters: EventFilter) -> Select[Any]:
    """The stored events matching ``filters`` (unordered, for keyset pages)."""
    return filters.apply(select(stored_events))


async def events_after(session: AsyncSession, position: int, filters: EventFilter,
                       limit: int) -> list[Row[Any]]:
    """Up to ``limit`` events after ``position``, in position order (the live stream)."""
    stmt = (filters.apply(select(stored_events))
            .where(stored_events.c.position > position)
            .order_by(stored_events.c.position)
            .limit(limit))
    return list((await session.execute(stmt)).all())


async def last_position(session: AsyncSession) -> int:
    """The highest position stored (0 for an empty store)."""
    value = await session.scalar(select(func.coalesce(func.max(stored_events.c.position), 0)))
    return int(value or 0)


def timeline_query(referral_id: str, limit: int) -> Select[Any]:
    """Every event about one referral, in journey order (time, stream sequence, position)."""
    c = stored_events.c
    key = referral_id.lower()
    return (
        select(stored_events)
        .where(or_(c.subject == key, c.correlation_id == key, c.referral_id == key))
        .order_by(c.time, c.stream_sequence, c.position)
        .limit(limit)
    )


async def timeline(session: AsyncSession, referral_id: str, limit: int) -> list[Row[Any]]:
    return list((await session.execute(timeline_query(referral_id, limit))).all())
