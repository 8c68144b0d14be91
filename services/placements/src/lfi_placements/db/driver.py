"""Statements run by asyncpg itself on the session's connection: a new request's hot path.

Under a burst of placement requests the service's one process is the bottleneck, and much of a
request's CPU goes into running its statements: through the session each costs SQLAlchemy's
per-execution work (greenlet switches, an execution context, a cursor, a buffered result),
several times what asyncpg itself spends. A :class:`DriverStatement` is built and compiled by
SQLAlchemy (once); each run binds the values by name as SQLAlchemy would (its bind processors
included) and hands the SQL to the asyncpg connection the session holds, inside the session's
transaction. Rows come back as asyncpg ``Record``s, or SQLAlchemy ``Row``s (see below): read
them by position, and select plain values (no result processing).

The statement does not autoflush: the session must have nothing pending. Until the session's
transaction has begun on the server (SQLAlchemy sends ``BEGIN`` with its first statement), the
statement goes through the session instead. A failure is raised as SQLAlchemy's
``DBAPIError``, as from ``session.execute``, and a connection the server has closed is
invalidated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy import Select, TextClause
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

_Compiled = tuple[Dialect, str, Any, list[tuple[str, Any]]]


class DriverStatement:
    """A prebuilt statement run by asyncpg on the session's connection (module docstring)."""

    def __init__(self, statement: Select[Any] | TextClause) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    def _compile(self, dialect: Dialect) -> _Compiled:
        if self._compiled is None or self._compiled[0] is not dialect:
            compiled = self.statement.compile(dialect=dialect)
            if compiled.literal_execute_params or compiled.post_compile_params:
                raise ValueError("DriverStatement takes no expanding or literal-execute "
                                 "parameters")
            order = [(name, compiled.binds[name].type.dialect_impl(dialect)
                      .bind_processor(dialect)) for name in compiled.positiontup or ()]
            self._compiled = (dialect, compiled.string, compiled, order)
        return self._compiled

    async def fetch(self, session: AsyncSession,
                    values: Mapping[str, Any] | None = None) -> Sequence[Any]:
        """The statement's rows for ``values`` (in the session's transaction)."""
        rows: Sequence[Any] = await self._run(session, values, rows=True)
        return rows

    async def execute(self, session: AsyncSession,
                      values: Mapping[str, Any] | None = None) -> None:
        """Run the statement for ``values`` (in the session's transaction); no rows."""
        await self._run(session, values, rows=False)

    async def _run(self, session: AsyncSession, values: Mapping[str, Any] | None, *,
                   rows: bool) -> Any:
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        if driver is None or not driver.is_in_transaction():
            result = await session.execute(self.statement, values)
            return result.all() if rows else None
        _, sql, compiled, order = self._compile(connection.dialect)
        bound = compiled.construct_params(values)
        args = [bound[name] if process is None else process(bound[name])
                for name, process in order]
        try:
            if rows:
                return await driver.fetch(sql, *args)
            # Without arguments, one simple-protocol message (nothing is prepared).
            return await driver.execute(sql, *args)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            lost = driver.is_closed()
            if lost:
                await connection.invalidate(error)  # the pool makes a new one
            raise DBAPIError(sql, None, error, connection_invalidated=lost) from error
