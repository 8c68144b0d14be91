"""API schemas of the events service (request and response bodies only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lfi_shared.http.pagination import Page
from lfi_shared.http.temporal import IsoDateTime


class EventTypeRead(BaseModel):
    type: str = Field(description="lfi.<service>.<aggregate>.<event>.v<N>; also the NATS subject.")
    producer: str
    name: str
    version: int
    dataschema: str = Field(description="The envelope's dataschema URI for this type.")
    description: str | None = None
    schema_url: str = Field(description="Where the JSON Schema of its data is served.")


EventTypePage = Page[EventTypeRead]


class StoredEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int = Field(description="Order of arrival in the store; the live stream's id.")
    id: uuid.UUID
    type: str
    source: str
    subject: str
    time: datetime
    correlation_id: str | None
    traceparent: str | None
    dataschema: str
    data: dict[str, Any]
    referral_id: str | None = Field(description="The referral whose journey this event is in.")
    stream: str
    stream_sequence: int
    received_at: datetime


StoredEventPage = Page[StoredEventRead]


class TimelineRead(BaseModel):
    referral_id: str
    items: list[StoredEventRead]
    next_cursor: str | None = None


class RejectedEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    event_id: uuid.UUID | None
    type: str | None
    source: str | None
    subject: str | None
    stream: str
    stream_sequence: int
    reasons: list[dict[str, str]] = Field(
        description="Where and why ({path, code}); never the refused values.")
    received_at: datetime


RejectedEventPage = Page[RejectedEventRead]


class DeadLetterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: Literal["terminated", "max_deliveries"]
    stream: str
    consumer: str
    stream_sequence: int
    deliveries: int | None
    nats_subject: str | None
    event_id: uuid.UUID | None
    event_type: str | None
    event_subject: str | None
    error: str | None = Field(description="The consumer's reason, when it gave one.")
    occurred_at: datetime
    recorded_at: datetime
    redelivered_at: datetime | None
    redelivered_by: str | None
    redelivered_sequence: int | None


DeadLetterPage = Page[DeadLetterRead]


CONSUMER_NAME = r"^[A-Za-z0-9_-]{1,100}$"


class ReplayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    consumer: str = Field(pattern=CONSUMER_NAME,
                          description="The consumer the events are replayed to.")
    subject_filter: str = Field(
        max_length=200, pattern=r"^[a-z0-9_]+(\.([a-z0-9_]+|\*))*(\.>)?$|^>$",
        description="Event types to replay, NATS style: 'lfi.placements.>', "
                    "'lfi.*.placement.*.v1'.")
    from_time: IsoDateTime | None = None
    to_time: IsoDateTime | None = Field(default=None, description="Exclusive.")
    from_position: int | None = Field(default=None, ge=1, le=2**63 - 1)
    to_position: int | None = Field(default=None, ge=1, le=2**63 - 1, description="Inclusive.")

    @model_validator(mode="after")
    def _ranges_in_order(self) -> ReplayCreate:
        if self.from_time and self.to_time and self.to_time <= self.from_time:
            raise ValueError("to_time must be after from_time")
        if self.from_position and self.to_position and self.to_position < self.from_position:
            raise ValueError("to_position must not be before from_position")
        for value in (self.from_time, self.to_time):
            if value is not None and value.tzinfo is None:
                raise ValueError("times need a UTC offset")
        return self


class ReplayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    consumer: str
    subject_filter: str
    from_time: datetime | None
    to_time: datetime | None
    from_position: int | None
    to_position: int | None
    status: Literal["pending", "running", "completed", "failed"]
    published: int
    last_position: int | None
    error: str | None
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None
    replay_subject: str = Field(description="Where the events are published (no namespace).")
