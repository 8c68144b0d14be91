"""A consumer's inbox (events already handled) and its dead letters (events it gave up on)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_shared.messaging.tables import MessagingTables


async def claim_event(session: AsyncSession, tables: MessagingTables, *, consumer: str,
                      event_id: uuid.UUID, event_type: str, outcome: str) -> bool:
    """Record ``event_id`` as handled by ``consumer``; False when it was recorded already.

    Run it in the transaction of the handler's effect: the row and the effect commit together,
    and a second delivery of the event finds the row (or waits on the first one's lock).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the insert failed.
    """
    inbox = tables.inbox
    result = await session.execute(
        insert(inbox)
        .values(consumer=consumer, event_id=event_id, event_type=event_type, outcome=outcome)
        .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.event_id])
        .returning(inbox.c.event_id)
    )
    return result.scalar_one_or_none() is not None


async def was_handled(session: AsyncSession, tables: MessagingTables, *, consumer: str,
                      event_id: uuid.UUID) -> bool:
    """Whether ``consumer``'s inbox holds ``event_id``."""
    inbox = tables.inbox
    found = await session.scalar(
        select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
    )
    return found is not None


@dataclass(frozen=True)
class DeadLetter:
    """What is kept of a message a consumer gave up on."""

    consumer: str
    nats_subject: str
    body: bytes
    error: str
    deliveries: int
    event_id: uuid.UUID | None = None
    event_type: str | None = None
    stream_sequence: int | None = None


def _json_or_none(body: bytes) -> Any | None:
    try:
        return json.loads(body)
    except ValueError:
        return None


async def record_dead_letter(session: AsyncSession, tables: MessagingTables,
                             letter: DeadLetter) -> None:
    """Insert a dead-letter row (at most one open row per consumer and event).

    The body goes to ``payload`` when it is JSON, else to ``raw_payload``.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the insert failed.
    """
    dead = tables.dead_letters
    payload = _json_or_none(letter.body)
    await session.execute(
        insert(dead)
        .values(
            consumer=letter.consumer,
            event_id=letter.event_id,
            event_type=letter.event_type,
            nats_subject=letter.nats_subject,
            stream_sequence=letter.stream_sequence,
            payload=payload,
            raw_payload=None if payload is not None else letter.body,
            error=letter.error[:8000],
            deliveries=letter.deliveries,
        )
        .on_conflict_do_nothing(
            index_elements=[dead.c.consumer, dead.c.event_id],
            index_where=dead.c.resolved_at.is_(None),
        )
    )
