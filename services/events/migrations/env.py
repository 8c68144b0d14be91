"""Alembic environment of the events service: its own schema, its own version table."""

from lfi_events.db.models import Base
from lfi_shared.migrations import run_alembic_env

run_alembic_env(Base.metadata)
