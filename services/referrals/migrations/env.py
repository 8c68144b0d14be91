"""Alembic environment of the referrals service: its own schema, its own version table."""

from lfi_shared.migrations import run_alembic_env
from lfi_referrals.db.models import Base

run_alembic_env(Base.metadata)
