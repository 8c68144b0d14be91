"""Database: a pooled connection the server has ended is replaced before anyone uses it."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from sqlalchemy import event, func, select, text

from lfi_shared.db import Database
from lfi_shared.testing.plugin import SchemaFactory, TestDatabase


async def _backend_pid(database: Database) -> int:
    async with database.transaction() as session:
        pid = (await session.execute(select(func.pg_backend_pid()))).scalar_one()
    assert isinstance(pid, int)
    return pid


def _count_statements(database: Database) -> list[str]:
    seen: list[str] = []
    event.listen(database.engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: seen.append(statement))
    return seen


async def test_a_connection_ended_by_the_server_is_replaced_on_checkout(
    make_service_schema: SchemaFactory, test_database: TestDatabase,
) -> None:
    database = Database(await make_service_schema("dbcheck"), pool_size=1, max_overflow=0)
    try:
        first = await _backend_pid(database)
        admin = await asyncpg.connect(test_database.admin_dsn)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the end of the stream reaches the driver

        # No error for the caller: the dead connection is swapped for a new one.
        second = await _backend_pid(database)
        assert second != first
    finally:
        await database.dispose()


async def test_a_busy_connection_is_not_pinged_but_an_idle_one_is(
    make_service_schema: SchemaFactory,
) -> None:
    database = Database(await make_service_schema("dbcheck"), pool_size=1, max_overflow=0,
                        ping_after_idle_s=0.3)
    try:
        pid = await _backend_pid(database)
        pings: list[object] = []
        original = database.engine.sync_engine.dialect.do_ping

        def counting_ping(dbapi_connection: Any) -> bool:
            pings.append(dbapi_connection)
            return bool(original(dbapi_connection))

        database.engine.sync_engine.dialect.do_ping = counting_ping  # type: ignore[method-assign]
        statements = _count_statements(database)

        for _ in range(3):
            assert await _backend_pid(database) == pid
        assert pings == []  # reused at once: no round trip to check it
        assert len(statements) == 3

        await asyncio.sleep(0.4)
        async with database.transaction() as session:
            await session.execute(text("SELECT 1"))
        assert len(pings) == 1  # idle for longer than ping_after_idle_s: pinged first
    finally:
        await database.dispose()
