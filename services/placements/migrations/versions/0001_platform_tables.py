"""Platform tables: outbox, inbox, dead letters, idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from lfi_shared.platform_tables import create_platform_tables_v1, drop_platform_tables_v1

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "placements"


def upgrade() -> None:
    create_platform_tables_v1(SCHEMA)


def downgrade() -> None:
    drop_platform_tables_v1(SCHEMA)
