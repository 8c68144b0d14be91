"""Recording events in the transactional outbox (the only way a service emits an event).

The outbox row commits or rolls back with the state change that caused it; only the relay
(:mod:`lfi_shared.messaging.relay`) publishes to NATS.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_shared.messaging.contracts import EventContract
from lfi_shared.messaging.envelope import Envelope, new_envelope
from lfi_shared.messaging.tables import MessagingTables
from lfi_shared.settings import ServiceSettings


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
    envelope = new_envelope(
        event_type=event.event_type,
        source=source,
        subject=subject,
        data=event.model_dump(mode="json"),
        correlation_id=correlation_id,
        traceparent=traceparent,
    )
    await session.execute(
        insert(tables.outbox).values(
            id=envelope.event_id,
            event_type=envelope.type,
            subject=envelope.subject,
            nats_subject=nats_subject_for(settings_or_namespace, envelope.type),
            payload=envelope.to_json_dict(),
        )
    )
    # Delivered on commit only (and once per transaction, however many events it records).
    await session.execute(select(func.pg_notify(tables.notify_channel, "")))
    await session.flush()
    return envelope
