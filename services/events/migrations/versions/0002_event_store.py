"""Event store (append-only), rejections, dead letters seen on every consumer, replays.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

from lfi_events.db.ddl import drop_store_ddl_v1, store_ddl_v1

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "events"


def upgrade() -> None:
    for statement in store_ddl_v1(SCHEMA):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_store_ddl_v1(SCHEMA):
        op.execute(statement)
