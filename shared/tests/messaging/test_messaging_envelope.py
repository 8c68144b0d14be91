"""The CloudEvents envelope: what it accepts, and how it looks on the wire."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from lfi_shared.messaging import Envelope, InvalidEnvelopeError, new_envelope, producer_of

TYPE = "lfi.referrals.referral.submitted.v1"


def make(**overrides: object) -> Envelope:
    fields: dict[str, object] = {
        "event_type": TYPE, "source": "/lfi/referrals", "subject": "ref-1",
        "data": {"referral_id": "ref-1"},
    }
    fields.update(overrides)
    return new_envelope(**fields)  # type: ignore[arg-type]


def test_new_envelope_carries_every_cloudevents_attribute() -> None:
    envelope = make(correlation_id="req-42", traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")

    wire = json.loads(envelope.to_bytes())

    assert wire["specversion"] == "1.0"
    assert uuid.UUID(wire["id"]).version == 4
    assert wire["source"] == "/lfi/referrals"
    assert wire["type"] == TYPE
    assert wire["subject"] == "ref-1"
    assert wire["datacontenttype"] == "application/json"
    assert wire["dataschema"] == f"urn:lfi:schema:{TYPE}"
    assert wire["data"] == {"referral_id": "ref-1"}
    assert wire["correlationid"] == "req-42"
    assert wire["traceparent"].startswith("00-")
    assert wire["time"].endswith("+00:00")
    assert datetime.fromisoformat(wire["time"]).tzinfo is not None


def test_envelope_round_trips_through_bytes() -> None:
    envelope = make()
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope


def test_event_without_correlation_starts_its_own() -> None:
    envelope = make()
    wire = json.loads(envelope.to_bytes())
    assert wire["correlationid"] == envelope.id
    assert "traceparent" not in wire  # absent optional attributes are left out


def test_time_is_normalised_to_utc() -> None:
    local = datetime(2025, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    envelope = make(time=local)
    assert envelope.time == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    assert json.loads(envelope.to_bytes())["time"] == "2025-03-01T08:00:00+00:00"


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("time", datetime(2025, 3, 1, 10, 0)),  # naive: no offset
        ("event_type", "referral.submitted"),
        ("event_type", "lfi.referrals.referral.submitted"),
        ("subject", ""),
        ("source", ""),
    ],
)
def test_malformed_attributes_are_rejected(attribute: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make(**{attribute: value})


def test_id_must_be_a_uuid() -> None:
    wire = json.loads(make().to_bytes())
    wire["id"] = "not-a-uuid"
    with pytest.raises(InvalidEnvelopeError):
        Envelope.from_bytes(json.dumps(wire).encode())


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"specversion": "1.0"}',
     b'{"specversion": "0.3", "id": "%s"}' % str(uuid.uuid4()).encode()],
)
def test_bytes_that_are_not_an_envelope_are_rejected(body: bytes) -> None:
    with pytest.raises(InvalidEnvelopeError):
        Envelope.from_bytes(body)


def test_unknown_extension_attributes_are_tolerated() -> None:
    wire = json.loads(make().to_bytes())
    wire["partitionkey"] = "p-1"
    assert Envelope.from_bytes(json.dumps(wire).encode()).type == TYPE


def test_envelope_is_immutable() -> None:
    envelope = make()
    with pytest.raises(ValidationError):
        envelope.subject = "other"  # type: ignore[misc]


def test_producer_is_read_from_the_event_type() -> None:
    assert producer_of("lfi.placements.placement.offered.v2") == "placements"
    with pytest.raises(ValueError, match="not an event type"):
        producer_of("placements.offered")
