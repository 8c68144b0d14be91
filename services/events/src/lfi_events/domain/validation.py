"""Checking a published envelope against the catalogue (JSON Schema, draft 2020-12).

Used by the store on ingest and by tests that prove every published event matches its
schema. Findings carry the JSON path and the schema keyword only, never the offending value:
a payload that fails may hold exactly the personal data that must not be copied anywhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from lfi_events.domain.catalogue import envelope_schema, find_contract
from lfi_shared.messaging import EventCatalogue, EventContract, is_event_type

_formats = FormatChecker(formats=())


def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


def _is_date(value: object) -> bool:
    return not isinstance(value, str) or (bool(date.fromisoformat(value)) and len(value) == 10)


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.tzinfo is not None and "T" in value.upper()


for _name, _check in (("uuid", _is_uuid), ("date", _is_date), ("date-time", _is_date_time)):
    _formats.checks(_name, raises=ValueError)(_check)


@dataclass(frozen=True)
class SchemaFinding:
    """One way a payload fails its schema: where (JSON path) and which rule (keyword)."""

    path: str
    keyword: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": f"schema_{self.keyword}"}


def _relaxed(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``data`` accepting properties it does not know (see ``validate``)."""
    data = dict(schema["properties"]["data"])
    data.pop("additionalProperties", None)
    return {**schema, "properties": {**schema["properties"], "data": data}}


@lru_cache(maxsize=512)
def _validator(contract: type[EventContract], strict: bool) -> Draft202012Validator:
    schema = envelope_schema(contract)
    return Draft202012Validator(schema if strict else _relaxed(schema), format_checker=_formats)


def validate_envelope(catalogue: EventCatalogue, envelope: dict[str, Any], *,
                      strict: bool = True) -> list[SchemaFinding]:
    """Every way ``envelope`` (a JSON object) fails the catalogue schema of its type.

    ``strict`` (the published contract exactly) is what producers are held to. The store
    ingests with ``strict=False``: a field added to ``data`` by a producer newer than this
    service's contracts is an additive change, not a reason to lose the event.

    An unknown or malformed type is one finding at ``$.type`` (keyword ``unknown_type``).
    """
    event_type = envelope.get("type")
    contract = (find_contract(catalogue, event_type)
                if isinstance(event_type, str) and is_event_type(event_type) else None)
    if contract is None:
        return [SchemaFinding(path="$.type", keyword="unknown_type")]
    findings = {
        SchemaFinding(path=error.json_path, keyword=str(error.validator))
        for error in _validator(contract, strict).iter_errors(envelope)
    }
    return sorted(findings, key=lambda f: (f.path, f.keyword))
