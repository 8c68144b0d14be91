"""The catalogue's pure parts: envelope validation, personal data, AsyncAPI, journeys."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from lfi_contracts import all_contracts
from lfi_contracts.funding import ApplicationDecided
from lfi_contracts.referrals import SchoolRegistered, ZoneCreated
from lfi_events.domain.asyncapi import asyncapi_document
from lfi_events.domain.catalogue import inline_local_refs
from lfi_events.domain.journey import referral_id_of
from lfi_events.domain.privacy import PersonalDataPolicy, is_upn, personal_data_findings
from lfi_events.domain.validation import validate_envelope
from lfi_events.settings import Settings
from lfi_events.snapshots import ASYNCAPI_FILE, asyncapi_text

POLICY = PersonalDataPolicy.of(Settings().personal_data_fields, Settings().child_contexts,
                               Settings().child_name_fields)


def _decided(**data: Any) -> dict[str, Any]:
    body = {"application_id": str(uuid.uuid4()), "school_urn": "121234",
            "financial_year": "2025-26", "outcome": "approved", "amount_requested": "100.00",
            "amount_awarded": "100.00", "decided_on": "2026-01-06", **data}
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/lfi/funding",
            "type": ApplicationDecided.event_type, "subject": "a",
            "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json",
            "dataschema": ApplicationDecided.dataschema(), "data": body}


def _codes(envelope: dict[str, Any], strict: bool = True) -> set[tuple[str, str]]:
    return {(f.path, f.keyword) for f in validate_envelope(all_contracts(), envelope,
                                                           strict=strict)}


def test_a_valid_envelope_has_no_findings() -> None:
    assert _codes(_decided()) == set()


def test_retyped_missing_and_malformed_fields_are_found() -> None:
    envelope = _decided(amount_awarded=100, decided_on="6 January 2026", outcome="maybe")
    del envelope["data"]["school_urn"]
    assert _codes(envelope) == {("$.data.amount_awarded", "type"),
                                ("$.data.decided_on", "format"),
                                ("$.data.outcome", "enum"), ("$.data", "required")}


def test_an_unknown_field_fails_strictly_but_not_on_ingest() -> None:
    envelope = _decided(new_optional_field="x")
    assert _codes(envelope) == {("$.data", "additionalProperties")}
    assert _codes(envelope, strict=False) == set()


def test_an_unknown_type_or_a_wrong_dataschema_is_found() -> None:
    assert _codes({**_decided(), "type": "lfi.funding.thing.happened.v9"}) == {
        ("$.type", "unknown_type")}
    assert _codes({**_decided(), "dataschema": "urn:x"}) == {("$.dataschema", "const")}
    assert _codes({**_decided(), "time": "2026-01-06T10:00:00"}) == {("$.time", "format")}


def test_the_sample_upn_is_recognised_and_a_wrong_check_letter_is_not() -> None:
    assert is_upn("B801200005001")
    assert not is_upn("A801200005001")
    assert not is_upn("B80120000500")


@pytest.mark.parametrize("data, expected", [
    ({"first_name": "A"}, {("$.first_name", "personal_data_field")}),
    ({"Surname": "A"}, {("$.Surname", "personal_data_field")}),
    ({"dob": "2014-01-01"}, {("$.dob", "personal_data_field")}),
    ({"child": {"name": "A"}}, {("$.child.name", "personal_data_field")}),
    ({"child_name": "A"}, {("$.child_name", "personal_data_field")}),
    ({"pupils": [{"upn": "x"}]}, {("$.pupils[0].upn", "personal_data_field")}),
    ({"notes": ["B801200005001"]}, {("$.notes[0]", "personal_data_upn")}),
    ({"name": "Norwich North", "school": {"name": "King's Lynn Academy"}}, set()),
    ({"child_id": str(uuid.uuid4()), "focus": "A801200005001"}, set()),
])
def test_personal_data_is_found_by_field_name_and_upn_value(
        data: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert {(f.path, f.code) for f in personal_data_findings(data, POLICY)} == expected


def test_zone_and_school_names_in_contracts_are_not_personal_data() -> None:
    for contract in (ZoneCreated, SchoolRegistered):
        fields = {name: "Norwich" for name in contract.model_fields}
        assert personal_data_findings(fields, POLICY) == []


def test_the_journey_of_an_event_comes_from_referral_id_or_a_referral_subject() -> None:
    ref = str(uuid.uuid4())
    assert referral_id_of("lfi.placements.placement.offered.v1", "p", {"referral_id": ref}) == ref
    assert referral_id_of("lfi.referrals.referral.accepted.v1", ref.upper(), {}) == ref
    assert referral_id_of("lfi.referrals.school.updated.v1", "121234", {}) is None


def test_the_committed_asyncapi_document_is_the_generated_one() -> None:
    assert ASYNCAPI_FILE.read_text() == asyncapi_text(all_contracts()), (
        "regenerate: python -m lfi_events asyncapi")


def test_the_asyncapi_document_has_a_channel_and_message_per_type_and_no_dangling_refs() -> None:
    catalogue = all_contracts()
    doc = asyncapi_document(catalogue, version="0")
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == set(catalogue.event_types())
    for key, message in doc["components"]["messages"].items():
        payload = message["payload"]["schema"]
        event_type = payload["properties"]["type"]["const"]
        data = dict(catalogue.get(event_type).json_schema())
        data.pop("$schema"), data.pop("$id")
        assert payload["properties"]["data"] == data, key
    text = json.dumps(doc)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        node: Any = doc
        for token in ref.removeprefix("#/").split("/"):
            node = node[token]


def test_local_refs_are_inlined() -> None:
    schema = {"properties": {"a": {"$ref": "#/$defs/A", "description": "d"}},
              "$defs": {"A": {"type": "string"}}}
    assert inline_local_refs(schema) == {
        "properties": {"a": {"type": "string", "description": "d"}}}
    with pytest.raises(ValueError):
        inline_local_refs({"$defs": {"A": {"$ref": "#/$defs/A"}}, "x": {"$ref": "#/$defs/A"}})
