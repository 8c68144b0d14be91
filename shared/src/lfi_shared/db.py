"""Async SQLAlchemy 2 plumbing: metadata per schema, engines, one transaction per unit of work.

Every service keeps its tables in its own PostgreSQL schema and connects as its own role.
Repositories flush; only :func:`Database.transaction` (one per request or consumed message)
commits.

A pooled connection is checked before use without a round trip: one the server has closed
(a restart, ``pg_terminate_backend``, a failover) is known to the driver as soon as the event
loop reads the end of its stream, and is replaced. Only a connection left idle for
``ping_after_idle_s`` is pinged (a silently dropped connection, say by a firewall). SQLAlchemy's
own ``pool_pre_ping`` would cost three round trips on every checkout.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

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
                 application_name: str = "lfi", ping_after_idle_s: float = 5.0,
                 **engine_kwargs: Any) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args={"server_settings": {"application_name": application_name}},
            **engine_kwargs,
        )
        check_connections_on_checkout(self.engine, ping_after_idle_s=ping_after_idle_s)
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


_IDLE_SINCE = "lfi_idle_since"


def check_connections_on_checkout(engine: AsyncEngine, *, ping_after_idle_s: float) -> None:
    """Replace a pooled connection the server has closed, and ping one idle for long.

    A connection that fails the check is discarded and another one is made, by the pool
    itself (``DisconnectionError`` on checkout), so the caller never sees the dead one.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def checked_in(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: ConnectionPoolEntry,
                    proxy: PoolProxiedConnection) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None:
            return  # just made
        is_closed = getattr(record.driver_connection, "is_closed", None)
        if callable(is_closed) and is_closed():
            raise DisconnectionError("the server closed the connection")
        if time.monotonic() - idle_since >= ping_after_idle_s:
            try:
                dialect.do_ping(dbapi_connection)
            except Exception as error:
                raise DisconnectionError("the idle connection did not answer") from error

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checked_out)
