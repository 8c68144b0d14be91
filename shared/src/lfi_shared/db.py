"""Async SQLAlchemy 2 plumbing: metadata per schema, engines, one transaction per unit of work.

Every service keeps its tables in its own PostgreSQL schema and connects as its own role.
Repositories flush; only :func:`Database.transaction` (one per request or consumed message)
commits. A request that only reads may use :func:`Database.reading` instead: no BEGIN or
COMMIT round trip, each statement on its own.

A pooled connection is checked before use without a round trip: one the server has closed
(a restart, ``pg_terminate_backend``, a failover) is known to the driver as soon as the event
loop reads the end of its stream, and is replaced. Only a connection left idle for
``ping_after_idle_s`` is pinged (a silently dropped connection, say by a firewall). SQLAlchemy's
own ``pool_pre_ping`` would cost three round trips on every checkout.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import MetaData, Select, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, InvalidRequestError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
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
        # Same pool; a connection is in autocommit only while a reading session holds it.
        self._readers = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            sync_session_class=ReadOnlySession, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for work that only reads, without a transaction of its own.

        Each statement runs on its own (autocommit), so no BEGIN or COMMIT goes to the server.
        Under READ COMMITTED, PostgreSQL's default, a transaction gives each statement its own
        snapshot anyway, so reads see what they would have seen inside one. The session refuses
        to write (:class:`ReadOnlySession`): a change needs :meth:`transaction`.
        """
        session = self._readers()
        try:
            yield session
        finally:
            # A session that never took a connection holds nothing to give back, and closing
            # it would still cost a task; one that did is closed as AsyncSession closes itself
            # (shielded from cancellation, so the connection always goes back to the pool).
            if session.in_transaction():
                async with session:
                    pass

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class ReadOnlySession(Session):
    """A session that refuses to write: no flush of changed objects, no INSERT, UPDATE or
    DELETE statement (:meth:`Database.reading`'s statements are not in a transaction, so a
    write could not be rolled back)."""


def _refuse_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    raise InvalidRequestError("a reading session cannot write: use Database.transaction()")


def _refuse_writes(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise InvalidRequestError("a reading session cannot write: use Database.transaction()")


event.listen(ReadOnlySession, "before_flush", _refuse_flush)
event.listen(ReadOnlySession, "do_orm_execute", _refuse_writes)


class DriverQuery:
    """A SELECT that asyncpg runs itself, for the hottest reads of a reading session.

    SQLAlchemy builds the statement and compiles it (once, on first use); each run binds the
    values by name as SQLAlchemy would (its bind processors included) and hands the SQL to the
    session's asyncpg connection, so no execution context, cursor or result object is made:
    on a small read that machinery costs more CPU than the rest of the request. The row comes
    back as asyncpg's ``Record`` (no result processing: select plain values).

    Only for sessions of :meth:`Database.reading` (no transaction, nothing pending to flush).
    A failure is raised as SQLAlchemy's ``DBAPIError``, as from ``session.execute``, and a
    connection the server has closed is invalidated.
    """

    def __init__(self, stmt: Select[Any]) -> None:
        self.stmt = stmt
        self._compiled: tuple[Dialect, str, Any, list[tuple[str, Any]]] | None = None

    def _compile(self, dialect: Dialect) -> tuple[str, Any, list[tuple[str, Any]]]:
        if self._compiled is None or self._compiled[0] is not dialect:
            compiled = self.stmt.compile(dialect=dialect)
            if compiled.literal_execute_params or compiled.post_compile_params:
                raise ValueError("DriverQuery takes no expanding or literal-execute parameters")
            order = [(name, compiled.binds[name].type.dialect_impl(dialect)
                      .bind_processor(dialect)) for name in compiled.positiontup or ()]
            self._compiled = (dialect, compiled.string, compiled, order)
        _, sql, compiled, order = self._compiled
        return sql, compiled, order

    async def fetchrow(self, session: AsyncSession, values: Mapping[str, Any]) -> Any:
        """The statement's first row for ``values`` (``None`` when there is none).

        It runs on the session's connection if the session holds one, else on a pooled
        connection taken for it alone (cheaper than the session's own checkout).
        """
        if not isinstance(session.sync_session, ReadOnlySession):
            raise InvalidRequestError("DriverQuery runs only in a Database.reading() session")
        engine = session.bind
        if not isinstance(engine, AsyncEngine):
            raise InvalidRequestError("DriverQuery needs a session bound to an engine")
        sql, compiled, order = self._compile(engine.dialect)
        bound = compiled.construct_params(values)
        args = [bound[name] if process is None else process(bound[name])
                for name, process in order]
        if session.in_transaction():
            return await self._fetch(await session.connection(), sql, args)
        async with engine.connect() as connection:
            return await self._fetch(connection, sql, args)

    @staticmethod
    async def _fetch(connection: AsyncConnection, sql: str, args: list[Any]) -> Any:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None  # a checked-out connection has its driver's connection
        try:
            return await driver.fetchrow(sql, *args)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            lost = driver.is_closed()
            if lost:
                await connection.invalidate(error)  # the pool makes a new one
            raise DBAPIError(sql, None, error, connection_invalidated=lost) from error


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
