"""Use cases of the events service: ingest, dead-letter redelivery, replays.

Functions take the caller's session and flush, never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError as NatsNotFoundError
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_events.db.models import consumer_dead_letters, replays
from lfi_events.db.store import insert_event, insert_rejection
from lfi_events.domain.privacy import PersonalDataPolicy, personal_data_findings
from lfi_events.domain.validation import validate_envelope
from lfi_shared.http.problems import Conflict, NotFound
from lfi_shared.messaging import Envelope, EventCatalogue

log = structlog.get_logger("lfi.events")

REDELIVERY_HEADER = "Lfi-Redelivery-Of"


@dataclass(frozen=True)
class MessageOrigin:
    """Where a consumed message sits in JetStream."""

    stream: str
    stream_sequence: int


async def ingest_event(session: AsyncSession, envelope: Envelope, origin: MessageOrigin, *,
                       catalogue: EventCatalogue, policy: PersonalDataPolicy) -> str:
    """Store one consumed event once, or refuse it; returns stored | duplicate | rejected.

    Refused (recorded in ``rejected_events`` with paths and reason codes only, and logged with
    its id only): data that looks like a child's name, date of birth or UPN, and data that does
    not match the catalogue schema of its type (or a type the catalogue does not know).
    """
    findings = [f.as_dict() for f in personal_data_findings(envelope.data, policy)]
    findings += [f.as_dict() for f in validate_envelope(catalogue, envelope.to_json_dict(),
                                                        strict=False)]
    if findings:
        await insert_rejection(session, event_id=envelope.event_id, event_type=envelope.type,
                               source=envelope.source, subject=envelope.subject,
                               stream=origin.stream, stream_sequence=origin.stream_sequence,
                               reasons=findings)
        log.warning("event_rejected", event_id=envelope.id,
                    reasons=sorted({f["code"] for f in findings}))
        return "rejected"
    stored = await insert_event(session, envelope, stream=origin.stream,
                                stream_sequence=origin.stream_sequence)
    return "stored" if stored else "duplicate"


async def redeliver_dead_letter(session: AsyncSession, js: JetStreamContext,
                                letter_id: uuid.UUID, *, operator: str) -> None:
    """Publish a dead-lettered message again, from the stream, to its original subject.

    Every consumer of the stream receives it; those that processed it already find its event
    id in their inbox and skip it, and the consumer that gave up on it (and so never recorded
    it) processes it once. The copy gets a Nats-Msg-Id of its own (the original one may still
    be inside JetStream's duplicate window) and a ``Lfi-Redelivery-Of`` header.

    Published before the row is marked: if the commit then fails, the operator may redeliver
    again, which the inboxes make harmless.

    Raises:
        NotFound: no such dead letter.
        Conflict: it was redelivered already, or its message has left the stream.
    """
    c = consumer_dead_letters.c
    row = (await session.execute(
        select(consumer_dead_letters).where(c.id == letter_id).with_for_update()
    )).first()
    if row is None:
        raise NotFound("No such dead letter.")
    if row.redelivered_at is not None:
        raise Conflict("This dead letter was redelivered already.",
                       extra={"redelivered_at": row.redelivered_at.isoformat()})
    try:
        original = await js.get_msg(row.stream, row.stream_sequence)
    except NatsNotFoundError:
        raise Conflict("The message is no longer in its stream (removed by the stream's "
                       "limits); replay it from the event store instead.") from None
    headers = dict(original.headers or {})
    original_id = headers.get("Nats-Msg-Id") or str(row.event_id or row.stream_sequence)
    headers["Nats-Msg-Id"] = f"{original_id}:redelivery:{row.id}"
    headers[REDELIVERY_HEADER] = f"{row.stream}/{row.stream_sequence}"
    subject = original.subject or row.nats_subject
    if subject is None:
        raise Conflict("The dead letter's subject is unknown.")
    ack = await js.publish(subject, original.data or b"", headers=headers)
    await session.execute(
        update(consumer_dead_letters).where(c.id == letter_id)
        .values(redelivered_at=func.now(), redelivered_by=operator, redelivered_sequence=ack.seq)
    )
    log.info("dead_letter_redelivered", dead_letter_id=str(letter_id), stream=row.stream,
             stream_sequence=row.stream_sequence, new_sequence=ack.seq)


async def request_replay(session: AsyncSession, *, consumer: str, subject_filter: str,
                         from_time: datetime | None, to_time: datetime | None,
                         from_position: int | None, to_position: int | None,
                         operator: str) -> dict[str, Any]:
    """Queue a replay (the replay worker publishes it); returns the new row."""
    values = {
        "id": uuid.uuid4(), "consumer": consumer, "subject_filter": subject_filter,
        "from_time": from_time, "to_time": to_time, "from_position": from_position,
        "to_position": to_position, "status": "pending", "published": 0,
        "requested_by": operator,
    }
    row = (await session.execute(
        insert(replays).values(**values).returning(*replays.c)
    )).one()
    return dict(row._mapping)
