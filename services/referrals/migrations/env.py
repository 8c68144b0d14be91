"""Alembic environment of the referrals service: its own schema, its own version table."""

from lfi_referrals.db.models import Base
from lfi_shared.migrations import run_alembic_env

run_alembic_env(Base.metadata)
