"""Events between services: CloudEvents envelopes, versioned contracts, the transactional
outbox and its relay, idempotent JetStream consumers with an inbox and dead letters.

A service records events with :func:`record_event` (or several at once with
:func:`record_events`) inside its business transaction, runs one
:class:`OutboxRelay` to publish them, and one :class:`ConsumerRunner` per subscription.
"""

from lfi_shared.messaging.backoff import Backoff
from lfi_shared.messaging.connection import connect_nats, durable_name
from lfi_shared.messaging.consumer import (
    ConsumerRunner,
    ConsumerStats,
    Handler,
    Outcome,
    PermanentEventError,
)
from lfi_shared.messaging.contracts import (
    ContractError,
    ContractMismatchError,
    EventCatalogue,
    EventContract,
    UnknownEventTypeError,
    contract_registry,
)
from lfi_shared.messaging.envelope import (
    Envelope,
    InvalidEnvelopeError,
    is_event_type,
    new_envelope,
    producer_of,
    schema_uri,
)
from lfi_shared.messaging.inbox import DeadLetter, claim_event, record_dead_letter, was_handled
from lfi_shared.messaging.outbox import (
    EventToRecord,
    nats_subject_for,
    record_event,
    record_events,
)
from lfi_shared.messaging.relay import OutboxRelay, RelayPublishError, RelayStats
from lfi_shared.messaging.streams import DUPLICATE_WINDOW_S, ensure_stream, stream_config
from lfi_shared.messaging.tables import MessagingTables, add_messaging_tables

__all__ = [
    "DUPLICATE_WINDOW_S",
    "Backoff",
    "ConsumerRunner",
    "ConsumerStats",
    "ContractError",
    "ContractMismatchError",
    "DeadLetter",
    "Envelope",
    "EventCatalogue",
    "EventContract",
    "EventToRecord",
    "Handler",
    "InvalidEnvelopeError",
    "MessagingTables",
    "OutboxRelay",
    "Outcome",
    "PermanentEventError",
    "RelayPublishError",
    "RelayStats",
    "UnknownEventTypeError",
    "add_messaging_tables",
    "claim_event",
    "connect_nats",
    "contract_registry",
    "durable_name",
    "ensure_stream",
    "is_event_type",
    "nats_subject_for",
    "new_envelope",
    "producer_of",
    "record_dead_letter",
    "record_event",
    "record_events",
    "schema_uri",
    "stream_config",
    "was_handled",
]
