"""SQLAlchemy models of the funding service; every table lives in the ``funding`` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from lfi_shared.db import make_metadata
from lfi_shared.platform_tables import add_platform_tables

SCHEMA = "funding"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


platform = add_platform_tables(Base.metadata)
