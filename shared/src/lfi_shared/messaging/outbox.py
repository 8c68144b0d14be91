"""Recording events in the transactional outbox (the only way a service emits an event).

The outbox row commits or rolls back with the state change that caused it; only the relay
(:mod:`lfi_shared.messaging.relay`) publishes to NATS.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    CTE,
    ColumnElement,
    Executable,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
)
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
    envelopes, parameters = outbox_parameters(tables, settings_or_namespace, events,
                                              traceparent=traceparent, source=source)
    await session.execute(_recording(tables.outbox), parameters)
    await session.flush()
    return envelopes


def outbox_parameters(
    tables: MessagingTables,
    settings_or_namespace: ServiceSettings | str,
    events: Sequence[EventToRecord],
    *,
    traceparent: str | None,
    source: str,
) -> tuple[list[Envelope], dict[str, Any]]:
    """The envelopes of ``events`` and the parameters of :func:`recording_cte` (with
    ``channel`` for :func:`notify_relay`) that write them, for a service that records events
    within a statement of its own. No events give empty arrays: no row, no NOTIFY.

    Raises:
        pydantic.ValidationError: a ``subject`` or ``source`` is empty.
    """
    envelopes = [
        new_envelope(event_type=e.event.event_type, source=source, subject=e.subject,
                     data=e.event.model_dump(mode="json"), correlation_id=e.correlation_id,
                     traceparent=traceparent)
        for e in events
    ]
    return envelopes, {
        "ids": [envelope.event_id for envelope in envelopes],
        "event_types": [envelope.type for envelope in envelopes],
        "subjects": [envelope.subject for envelope in envelopes],
        "nats_subjects": [nats_subject_for(settings_or_namespace, envelope.type)
                          for envelope in envelopes],
        "payloads": [envelope.model_dump_json(exclude_none=True) for envelope in envelopes],
        "channel": tables.notify_channel,
    }


@functools.cache
def recording_cte(outbox: Table, *, only_if: ColumnElement[bool] | None = None) -> CTE:
    """``recorded``: the data-modifying CTE inserting the events of :func:`outbox_parameters`
    into ``outbox``, in the arrays' order (the identity ``seq`` follows it, and the relay keeps
    it), returning their ids; with ``only_if``, only where that holds (say: the change the
    events are about was made by the same statement). Built once per table (and condition);
    its rows come as arrays, so it is the same statement whatever the number of events.

    A statement that holds it must also hold :func:`notify_relay` of it, so that the relay is
    woken when the rows commit.
    """
    rows = func.unnest(
        bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True))),
        bindparam("event_types", type_=ARRAY(Text)),
        bindparam("subjects", type_=ARRAY(Text)),
        bindparam("nats_subjects", type_=ARRAY(Text)),
        bindparam("payloads", type_=ARRAY(Text)),  # the envelopes' JSON, cast below
    ).table_valued("id", "event_type", "subject", "nats_subject", "payload",
                   with_ordinality="position").render_derived(name="recorded_rows")
    events = select(rows.c.id, rows.c.event_type, rows.c.subject, rows.c.nats_subject,
                    cast(rows.c.payload, JSONB)).order_by(rows.c.position)
    if only_if is not None:
        events = events.where(only_if)
    return (
        insert(outbox)
        .from_select(["id", "event_type", "subject", "nats_subject", "payload"], events)
        .returning(outbox.c.id)
        .cte("recorded")
    )


def notify_relay(recorded: CTE) -> Select[tuple[Any]]:
    """``SELECT pg_notify(:channel, '') FROM recorded LIMIT 1``: wakes the relay once if the
    statement recorded any event (a data-modifying CTE always runs to its end, so LIMIT 1 only
    cuts the NOTIFY). The NOTIFY is delivered on commit only, once per transaction."""
    return (select(func.pg_notify(bindparam("channel", type_=Text), literal("", Text)))
            .select_from(recorded).limit(1))


@functools.cache
def _recording(outbox: Table) -> Executable:
    """The statement writing events to ``outbox`` and notifying its relay (the rows and the
    NOTIFY in one round trip), built once per table: compiled once, prepared once per
    connection, whatever the number of events."""
    return notify_relay(recording_cte(outbox))
