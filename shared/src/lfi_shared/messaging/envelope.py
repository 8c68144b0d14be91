"""The CloudEvents 1.0 envelope every platform event travels in (JSON structured mode).

One JSON object carries the context attributes and the event's ``data``; the same object is
stored whole in the outbox ``payload`` column and published as the NATS message body.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)

EVENT_TYPE_PATTERN = re.compile(
    r"^lfi\.(?P<service>[a-z][a-z0-9_]*)\.(?P<aggregate>[a-z][a-z0-9_]*)"
    r"\.(?P<event>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)$"
)
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


class InvalidEnvelopeError(ValueError):
    """Bytes that are not a CloudEvents envelope this platform accepts."""


def is_event_type(value: str) -> bool:
    """Whether ``value`` has the form ``lfi.<service>.<aggregate>.<event>.v<N>``."""
    return EVENT_TYPE_PATTERN.match(value) is not None


def producer_of(event_type: str) -> str:
    """The producing service named by an event type (``lfi.referrals.…`` → ``referrals``).

    Raises:
        ValueError: ``event_type`` is not of the form ``lfi.<service>.<aggregate>.<event>.v<N>``.
    """
    match = EVENT_TYPE_PATTERN.match(event_type)
    if match is None:
        raise ValueError(
            f"not an event type (lfi.<service>.<aggregate>.<event>.v<N>): {event_type!r}"
        )
    return match.group("service")


def schema_uri(event_type: str) -> str:
    """The ``dataschema`` URI naming the JSON Schema of an event type's ``data``."""
    return f"urn:lfi:schema:{event_type}"


class Envelope(BaseModel):
    """A CloudEvents 1.0 event, JSON structured mode, plus ``correlationid`` and ``traceparent``."""

    # Unknown extension attributes from newer producers are tolerated (and dropped).
    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(description="Event id (a UUID); also the NATS Nats-Msg-Id.")
    source: str = Field(min_length=1, description="The producing service, e.g. /lfi/referrals.")
    type: str = Field(description="lfi.<service>.<aggregate>.<event>.v<N>")
    subject: str = Field(min_length=1, description="The aggregate's id.")
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str = Field(min_length=1, description="URI of the data's JSON Schema.")
    data: dict[str, Any]
    correlationid: str | None = None
    traceparent: str | None = None

    @field_validator("id")
    @classmethod
    def _id_is_a_uuid(cls, value: str) -> str:
        return str(uuid.UUID(value))

    @field_validator("type")
    @classmethod
    def _type_is_an_event_type(cls, value: str) -> str:
        if not is_event_type(value):
            raise ValueError("type must be lfi.<service>.<aggregate>.<event>.v<N>")
        return value

    @field_validator("time")
    @classmethod
    def _time_is_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("time must carry a UTC offset")
        return value.astimezone(UTC)

    @field_serializer("time")
    def _time_with_offset(self, value: datetime) -> str:
        return value.isoformat()

    @property
    def event_id(self) -> uuid.UUID:
        """The event id as a UUID."""
        return uuid.UUID(self.id)

    def to_json_dict(self) -> dict[str, Any]:
        """The envelope as a JSON-ready dict (absent optional attributes left out)."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_bytes(self) -> bytes:
        """The envelope as the UTF-8 JSON body of a NATS message."""
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        """Parse a NATS message body.

        Raises:
            InvalidEnvelopeError: the bytes are not JSON or not a valid envelope.
        """
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidEnvelopeError(str(exc)) from exc


def new_envelope(*, event_type: str, source: str, subject: str, data: dict[str, Any],
                 correlation_id: str | None = None, traceparent: str | None = None,
                 event_id: uuid.UUID | None = None, time: datetime | None = None) -> Envelope:
    """A new envelope with a fresh id and the current time, ``dataschema`` from the type.

    Without a ``correlation_id`` the event starts a correlation of its own (its id).

    Raises:
        pydantic.ValidationError: an attribute is malformed (bad type name, empty subject …).
    """
    ident = str(event_id or uuid.uuid4())
    return Envelope(
        id=ident,
        source=source,
        type=event_type,
        subject=subject,
        time=time or datetime.now(UTC),
        dataschema=schema_uri(event_type),
        data=data,
        correlationid=correlation_id or ident,
        traceparent=traceparent,
    )
