"""SQLAlchemy models of the referrals service; every table lives in the ``referrals`` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from lfi_shared.db import make_metadata
from lfi_shared.platform_tables import add_platform_tables

SCHEMA = "referrals"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


platform = add_platform_tables(Base.metadata)
