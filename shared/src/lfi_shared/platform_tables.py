"""The tables every service keeps in its own schema for the platform's mechanisms.

``outbox``, ``inbox`` and ``dead_letters`` (events) and ``idempotency_keys`` (creates). A
service adds them to its metadata with :func:`add_platform_tables`; its first migration
creates them with :func:`create_platform_tables_v1`, frozen at this shape — later changes
to these tables come as new, versioned functions called from new migrations.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, Table

from lfi_shared.db import make_metadata
from lfi_shared.http.idempotency import add_idempotency_table
from lfi_shared.messaging.tables import MessagingTables, add_messaging_tables


@dataclass(frozen=True)
class PlatformTables:
    messaging: MessagingTables
    idempotency: Table


def add_platform_tables(metadata: MetaData) -> PlatformTables:
    return PlatformTables(
        messaging=add_messaging_tables(metadata),
        idempotency=add_idempotency_table(metadata),
    )


def create_platform_tables_v1(schema: str) -> None:
    """Create the platform tables (first version) in ``schema``; for use inside a migration."""
    from alembic import op

    metadata = make_metadata(schema)
    add_platform_tables(metadata)
    metadata.create_all(op.get_bind())


def drop_platform_tables_v1(schema: str) -> None:
    from alembic import op

    metadata = make_metadata(schema)
    add_platform_tables(metadata)
    metadata.drop_all(op.get_bind())
