"""The AsyncAPI 3.0 document of the platform's events, generated from the contracts.

One channel per event type (its NATS subject is the type, prefixed by a deployment's
namespace when it has one), one message per channel whose payload is the CloudEvents envelope
with ``data`` = the contract's schema, and one ``send`` operation naming the producer. The
document is deterministic (no dates, no hosts from the environment), so the copy committed
to the repository can be compared with a freshly generated one.
"""

from __future__ import annotations

from typing import Any

from lfi_events.domain.catalogue import envelope_schema
from lfi_shared.messaging import EventCatalogue, EventContract
from lfi_shared.messaging.envelope import CLOUDEVENTS_CONTENT_TYPE

ASYNCAPI_VERSION = "3.0.0"


def _key(event_type: str) -> str:
    """A component key for an event type (AsyncAPI keys are ``^[a-zA-Z0-9.\\-_]+$``)."""
    return event_type.replace(".", "_")


def _message(contract: type[EventContract]) -> dict[str, Any]:
    doc = (contract.__dict__.get("__doc__") or "").strip()
    payload = envelope_schema(contract)
    payload.pop("$schema", None)
    message: dict[str, Any] = {
        "name": contract.__name__,
        "title": contract.__name__,
        "summary": doc.splitlines()[0] if doc else f"{contract.event_type} event",
        "contentType": CLOUDEVENTS_CONTENT_TYPE,
        "headers": {
            "type": "object",
            "properties": {
                "Nats-Msg-Id": {"type": "string", "format": "uuid",
                                "description": "= the envelope's id (JetStream deduplication)"},
                "Content-Type": {"type": "string", "const": CLOUDEVENTS_CONTENT_TYPE},
            },
        },
        "payload": {"schemaFormat": "application/schema+json;version=draft-2020-12",
                    "schema": payload},
        "correlationId": {"$ref": "#/components/correlationIds/journey"},
    }
    return message


def asyncapi_document(catalogue: EventCatalogue, *, version: str) -> dict[str, Any]:
    """The AsyncAPI 3.0 document for every event type in ``catalogue``."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for contract in catalogue:
        key = _key(contract.event_type)
        messages[key] = _message(contract)
        channels[key] = {
            "address": contract.event_type,
            "title": contract.event_type,
            "description": (f"Published by the {contract.producer()} service on its JetStream "
                            f"stream LFI_{contract.producer().upper()} (subjects "
                            f"lfi.{contract.producer()}.>)."),
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "title": f"{contract.producer()} publishes {contract.__name__}",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
            "tags": [{"name": contract.producer()}],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Local First Inclusion events",
            "version": version,
            "description": (
                "Every event the Local First Inclusion services publish on NATS JetStream: one "
                "stream per producing service, subject = event type "
                "(lfi.<service>.<aggregate>.<event>.v<N>), CloudEvents 1.0 JSON envelopes. "
                "Contracts change additively; a breaking change is a new vN type. A deployment "
                "may prefix every subject with its namespace (<namespace>.lfi....)."
            ),
        },
        "defaultContentType": CLOUDEVENTS_CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "NATS JetStream of a local stack (make run).",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "correlationIds": {
                "journey": {
                    "description": "The journey's id: the referral's own id, passed on by every "
                                   "service acting on that referral.",
                    "location": "$message.payload#/correlationid",
                },
            },
        },
    }
