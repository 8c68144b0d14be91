"""Tables of the events service; every table lives in the ``events`` schema.

``stored_events`` is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE, even for the
owner); ``position`` is its monotonically increasing order of commit, the SSE ``id``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase

from lfi_shared.db import make_metadata
from lfi_shared.platform_tables import add_platform_tables

SCHEMA = "events"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


platform = add_platform_tables(Base.metadata)

stored_events = Table(
    "stored_events",
    Base.metadata,
    Column("position", BigInteger, primary_key=True),
    Column("id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("type", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("correlation_id", Text, nullable=True),
    Column("traceparent", Text, nullable=True),
    Column("dataschema", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("referral_id", Text, nullable=True),
    Column("stream", Text, nullable=False),
    Column("stream_sequence", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

rejected_events = Table(
    "rejected_events",
    Base.metadata,
    Column("position", BigInteger, primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=True, unique=True),
    Column("type", Text, nullable=True),
    Column("source", Text, nullable=True),
    Column("subject", Text, nullable=True),
    Column("stream", Text, nullable=False),
    Column("stream_sequence", BigInteger, nullable=False),
    Column("reasons", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

consumer_dead_letters = Table(
    "consumer_dead_letters",
    Base.metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("advisory_id", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("stream", Text, nullable=False),
    Column("consumer", Text, nullable=False),
    Column("stream_sequence", BigInteger, nullable=False),
    Column("deliveries", Integer, nullable=True),
    Column("nats_subject", Text, nullable=True),
    Column("event_id", UUID(as_uuid=True), nullable=True),
    Column("event_type", Text, nullable=True),
    Column("event_subject", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("redelivered_at", DateTime(timezone=True), nullable=True),
    Column("redelivered_by", Text, nullable=True),
    Column("redelivered_sequence", BigInteger, nullable=True),
)

replays = Table(
    "replays",
    Base.metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("consumer", Text, nullable=False),
    Column("subject_filter", Text, nullable=False),
    Column("from_time", DateTime(timezone=True), nullable=True),
    Column("to_time", DateTime(timezone=True), nullable=True),
    Column("from_position", BigInteger, nullable=True),
    Column("to_position", BigInteger, nullable=True),
    Column("status", Text, nullable=False),
    Column("published", Integer, nullable=False),
    Column("last_position", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)


def live_channel(schema: str) -> str:
    """The NOTIFY channel woken when events are stored (``<schema>_stored_events``)."""
    return f"{schema}_stored_events"
