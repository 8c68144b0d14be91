"""The outbox, inbox and dead-letter tables each service keeps in its own schema.

Services call :func:`add_messaging_tables` on their metadata, so the tables come with the
service's Alembic migrations like any other table.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

# Inbox outcomes: the handler ran, or no handler wanted this event type.
INBOX_PROCESSED = "processed"
INBOX_SKIPPED = "skipped"


@dataclass(frozen=True)
class MessagingTables:
    """The messaging tables of one service schema."""

    schema: str
    outbox: Table
    inbox: Table
    dead_letters: Table

    @property
    def notify_channel(self) -> str:
        """The LISTEN/NOTIFY channel woken when outbox rows commit (``<schema>_outbox``)."""
        return f"{self.schema}_outbox"


def add_messaging_tables(metadata: MetaData) -> MessagingTables:
    """Add ``outbox``, ``inbox`` and ``dead_letters`` to a service's metadata.

    Raises:
        ValueError: the metadata has no schema (see :func:`lfi_shared.db.make_metadata`).
    """
    if not metadata.schema:
        raise ValueError("messaging tables need metadata with a schema (make_metadata(schema))")

    outbox = Table(
        "outbox",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True, comment="The event id."),
        # Events recorded in one transaction share created_at; seq keeps their order.
        Column("seq", BigInteger, Identity(always=True), nullable=False),
        Column("event_type", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("nats_subject", Text, nullable=False),
        Column("payload", JSONB, nullable=False, comment="The whole CloudEvents envelope."),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
    )
    Index(
        "ix_outbox_unpublished",
        outbox.c.created_at,
        outbox.c.seq,
        postgresql_where=outbox.c.published_at.is_(None),
    )
    Index(
        "ix_outbox_published_at",
        outbox.c.published_at,
        postgresql_where=outbox.c.published_at.is_not(None),
    )

    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("event_type", Text, nullable=False),
        Column("outcome", Text, nullable=False, comment="processed | skipped"),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )

    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True,
               server_default=func.gen_random_uuid()),
        Column("consumer", Text, nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=True,
               comment="Null when the message was not an envelope."),
        Column("event_type", Text, nullable=True),
        Column("nats_subject", Text, nullable=False),
        Column("stream_sequence", BigInteger, nullable=True),
        Column("payload", JSONB(none_as_null=True), nullable=True,
               comment="The message body, when it was JSON."),
        Column("raw_payload", LargeBinary, nullable=True, comment="The body, when it was not."),
        Column("error", Text, nullable=False),
        Column("deliveries", Integer, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("resolved_at", DateTime(timezone=True), nullable=True),
    )
    # One open dead letter per consumer and event: a redelivery racing the term() adds nothing.
    Index(
        "uq_dead_letters_open",
        dead_letters.c.consumer,
        dead_letters.c.event_id,
        unique=True,
        postgresql_where=dead_letters.c.resolved_at.is_(None),
    )
    Index("ix_dead_letters_created_at", dead_letters.c.created_at)

    return MessagingTables(
        schema=metadata.schema, outbox=outbox, inbox=inbox, dead_letters=dead_letters
    )
