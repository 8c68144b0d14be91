"""The tables of the event latency scenario: a producer's schema and a consumer's, as two
services would have them (each with the platform's messaging tables)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, Table, func
from sqlalchemy.dialects.postgresql import UUID

from lfi_shared.db import make_metadata
from lfi_shared.messaging import MessagingTables, add_messaging_tables

PRODUCER = "bench_latency"
EVENT_TYPE = "lfi.bench_latency.sample.recorded.v1"
PRODUCER_SCHEMA = "latency_producer"
CONSUMER_SCHEMA = "latency_consumer"


def producer_tables() -> tuple[MessagingTables, Table]:
    """The producer's messaging tables and its ``samples`` (the state change)."""
    metadata = make_metadata(PRODUCER_SCHEMA)
    messaging = add_messaging_tables(metadata)
    samples = Table(
        "samples", metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("seq", Integer, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False,
               server_default=func.now()),
    )
    return messaging, samples


def consumer_tables() -> tuple[MessagingTables, Table]:
    """The consumer's messaging tables (its inbox) and its ``effects``."""
    metadata = make_metadata(CONSUMER_SCHEMA)
    messaging = add_messaging_tables(metadata)
    effects = Table(
        "effects", metadata,
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("sample_id", UUID(as_uuid=True), nullable=False),
        Column("applied_at", DateTime(timezone=True), nullable=False,
               server_default=func.clock_timestamp()),
    )
    return messaging, effects
