"""The migrated-database fixture gives each call a database of its own, at head."""

from __future__ import annotations

import asyncpg
from alembic.script import ScriptDirectory

from lfi_shared.db import to_asyncpg_dsn
from lfi_shared.testing.plugin import service_dir


async def test_each_migrated_database_is_its_own(migrated_service_database) -> None:
    first = await migrated_service_database("funding")
    second = await migrated_service_database("funding")
    assert first != second
    conn = await asyncpg.connect(to_asyncpg_dsn(first))
    try:
        await conn.execute("INSERT INTO funding.idempotency_keys (owner, key, operation, request_hash)"
                           " VALUES ('o', 'k', 'op', 'h')")
    finally:
        await conn.close()
    conn = await asyncpg.connect(to_asyncpg_dsn(second))
    try:
        assert await conn.fetchval("SELECT count(*) FROM funding.idempotency_keys") == 0
        head = ScriptDirectory(str(service_dir("funding") / "migrations")).get_current_head()
        assert await conn.fetchval("SELECT version_num FROM funding.alembic_version") == head
    finally:
        await conn.close()
