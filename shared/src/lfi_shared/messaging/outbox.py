"""Recording events in the transactional outbox (the only way a service emits an event).

The outbox row commits or rolls back with the state change that caused it; only the relay
(:mod:`lfi_shared.messaging.relay`) publishes to NATS.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Executable, Table, Text, bindparam, cast, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_shared.messaging.contracts import EventContract
from lfi_shared.messaging.envelope import Envelope, new_envelope
from lfi_shared.messaging.tables import MessagingTables
from lfi_shared.settings import ServiceSettings


class EventToRecord(NamedTuple):
    """One event for :func:`record_events`: the contract, the aggregate it is about
    (``subject``) and the journey it belongs to (``correlation_id``)."""

    event: EventContract
    subject: str
    correlation_id: str | None


def nats_subject_for(settings_or_namespace: ServiceSettings | str, event_type: str) -> str:
    """The NATS subject of an event type, inside a settings object's (or a bare) namespace."""
    if isinstance(settings_or_namespace, ServiceSettings):
        subject: str = settings_or_namespace.subject_for(event_type)
        return subject
    namespace = settings_or_namespace
    return f"{namespace}.{event_type}" if namespace else event_type


async def record_event(
    session: AsyncSession,
    tables: MessagingTables,
    settings_or_namespace: ServiceSettings | str,
    event: EventContract,
    *,
    subject: str,
    correlation_id: str | None,
    traceparent: str | None,
    source: str,
) -> Envelope:
    """Write ``event`` to the outbox inside the caller's transaction and return its envelope.

    Flushes, never commits: the row (and the NOTIFY that wakes the relay) take effect when the
    caller's transaction commits, and vanish if it rolls back. Nothing is sent to NATS here.

    Raises:
        pydantic.ValidationError: ``subject`` or ``source`` is empty.
        sqlalchemy.exc.SQLAlchemyError: the insert failed (the caller's transaction is spoilt).
    """
    envelopes = await record_events(
        session, tables, settings_or_namespace, [EventToRecord(event, subject, correlation_id)],
        traceparent=traceparent, source=source)
    return envelopes[0]


async def record_events(
    session: AsyncSession,
    tables: MessagingTables,
    settings_or_namespace: ServiceSettings | str,
    events: Sequence[EventToRecord],
    *,
    traceparent: str | None,
    source: str,
) -> list[Envelope]:
    """Write several events to the outbox, in this order, with one statement (the rows and
    the NOTIFY in one round trip); their envelopes. As :func:`record_event` otherwise.

    Raises:
        pydantic.ValidationError: a ``subject`` or ``source`` is empty.
        sqlalchemy.exc.SQLAlchemyError: the insert failed (the caller's transaction is spoilt).
    """
    if not events:
        return []
    envelopes = [
        new_envelope(event_type=e.event.event_type, source=source, subject=e.subject,
                     data=e.event.model_dump(mode="json"), correlation_id=e.correlation_id,
                     traceparent=traceparent)
        for e in events
    ]
    await session.execute(_recording(tables.outbox), {
        "ids": [envelope.event_id for envelope in envelopes],
        "event_types": [envelope.type for envelope in envelopes],
        "subjects": [envelope.subject for envelope in envelopes],
        "nats_subjects": [nats_subject_for(settings_or_namespace, envelope.type)
                          for envelope in envelopes],
        "payloads": [envelope.model_dump_json(exclude_none=True) for envelope in envelopes],
        "channel": tables.notify_channel,
    })
    await session.flush()
    return envelopes


@functools.cache
def _recording(outbox: Table) -> Executable:
    """The statement writing events to ``outbox`` and notifying its relay, built once per
    table: its rows come as arrays, so it is the same statement (compiled once, prepared once
    per connection) whatever the number of events.

    One round trip: the rows are inserted in the arrays' order (the identity ``seq`` follows
    it, and the relay keeps it), and the NOTIFY rides on the same statement (a data-modifying
    CTE always runs to its end, so LIMIT 1 only calls pg_notify once). The NOTIFY is delivered
    on commit only, once per transaction.
    """
    rows = func.unnest(
        bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))),
        bindparam("event_types", type_=ARRAY(Text)),
        bindparam("subjects", type_=ARRAY(Text)),
        bindparam("nats_subjects", type_=ARRAY(Text)),
        bindparam("payloads", type_=ARRAY(Text)),  # the envelopes' JSON, cast below
    ).table_valued("id", "event_type", "subject", "nats_subject", "payload",
                   with_ordinality="position").render_derived(name="recorded_rows")
    recorded = (
        insert(outbox)
        .from_select(
            ["id", "event_type", "subject", "nats_subject", "payload"],
            select(rows.c.id, rows.c.event_type, rows.c.subject, rows.c.nats_subject,
                   cast(rows.c.payload, JSONB)).order_by(rows.c.position))
        .returning(outbox.c.id)
        .cte("recorded")
    )
    return (select(func.pg_notify(bindparam("channel", type_=Text), literal("", Text)))
            .select_from(recorded).limit(1))
