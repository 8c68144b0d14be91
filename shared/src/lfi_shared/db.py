"""Async SQLAlchemy 2 plumbing: metadata per schema, engines, one transaction per unit of work.

Every service keeps its tables in its own PostgreSQL schema and connects as its own role.
Repositories flush; only :func:`Database.transaction` (one per request or consumed message)
commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Stable constraint names, so that migrations can refer to them (and Alembic diffs stay quiet).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata(schema: str) -> MetaData:
    """Metadata for one service's schema, with the platform's naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def to_asyncpg_dsn(url: str) -> str:
    """The plain ``postgresql://`` DSN (for asyncpg itself) of a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Database:
    """One engine and session factory for one service."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 10,
                 application_name: str = "lfi", **engine_kwargs: Any) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            connect_args={"server_settings": {"application_name": application_name}},
            **engine_kwargs,
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
