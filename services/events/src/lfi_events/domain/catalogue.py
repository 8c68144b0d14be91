"""The event catalogue: every contract's JSON Schema, and the CloudEvents envelope around it.

Pure functions over an :class:`~lfi_shared.messaging.EventCatalogue` (the contracts registry);
nothing here does I/O. The schemas are generated from the contract models, never written by
hand, so the catalogue cannot drift from what producers publish.
"""

from __future__ import annotations

import copy
from typing import Any

from lfi_shared.messaging import EventCatalogue, EventContract, UnknownEventTypeError
from lfi_shared.messaging.contracts import JSON_SCHEMA_DIALECT


def contract_schema(contract: type[EventContract]) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a contract's ``data``, self-contained (``$defs`` inlined).

    Inlining lets the schema be embedded in other documents (the envelope, AsyncAPI) where a
    ``#/$defs/...`` pointer would resolve against the wrong root.
    """
    return inline_local_refs(contract.json_schema())


def inline_local_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` with every ``#/$defs/<name>`` reference replaced by its target.

    Raises:
        ValueError: a reference is recursive or points outside ``$defs``.
    """
    defs: dict[str, Any] = schema.get("$defs", {})

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                prefix = "#/$defs/"
                if not ref.startswith(prefix) or ref[len(prefix):] not in defs:
                    raise ValueError(f"unsupported $ref {ref!r}")
                name = ref[len(prefix):]
                if name in seen:
                    raise ValueError(f"recursive $ref {ref!r}")
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                target = resolve(copy.deepcopy(defs[name]), (*seen, name))
                return {**target, **{k: resolve(v, seen) for k, v in siblings.items()}}
            return {k: resolve(v, seen) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema, ())
    return resolved


def envelope_schema(contract: type[EventContract]) -> dict[str, Any]:
    """The JSON Schema of a whole CloudEvents envelope carrying ``contract`` as ``data``."""
    data = contract_schema(contract)
    data.pop("$schema", None)
    data.pop("$id", None)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:lfi:envelope:{contract.event_type}",
        "title": f"{contract.__name__} (CloudEvents 1.0 envelope)",
        "type": "object",
        "required": ["specversion", "id", "source", "type", "subject", "time",
                     "datacontenttype", "dataschema", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "format": "uuid",
                   "description": "The event id; also the Nats-Msg-Id header."},
            "source": {"type": "string", "minLength": 1,
                       "description": f"The producing service, /lfi/{contract.producer()}."},
            "type": {"const": contract.event_type},
            "subject": {"type": "string", "minLength": 1, "description": "The aggregate's id."},
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": "application/json"},
            "dataschema": {"const": contract.dataschema()},
            "correlationid": {"type": "string",
                              "description": "The journey's id (a referral's own id)."},
            "traceparent": {"type": "string", "description": "W3C trace context."},
            "data": data,
        },
        "additionalProperties": True,
    }


def event_type_summary(contract: type[EventContract]) -> dict[str, Any]:
    """What the catalogue's list shows of one event type."""
    # Only the contract's own docstring: an undocumented class must not show its base's.
    doc = (contract.__dict__.get("__doc__") or "").strip()
    return {
        "type": contract.event_type,
        "producer": contract.producer(),
        "name": contract.__name__,
        "version": int(contract.event_type.rsplit(".v", 1)[1]),
        "dataschema": contract.dataschema(),
        "description": doc.splitlines()[0] if doc else None,
    }


def find_contract(catalogue: EventCatalogue, event_type: str) -> type[EventContract] | None:
    """The contract of ``event_type`` in ``catalogue``, or None."""
    try:
        return catalogue.get(event_type)
    except UnknownEventTypeError:
        return None
