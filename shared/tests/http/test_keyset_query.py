"""KeysetQuery: a paged query built once walks every row once, as keyset_page does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, Integer, Table, Text, bindparam, insert, select
from sqlalchemy.dialects.postgresql import UUID

from lfi_shared.db import Database, make_metadata
from lfi_shared.http.pagination import KeysetQuery, PageParams, encode_cursor, keyset_page
from lfi_shared.http.problems import InvalidRequest
from lfi_shared.testing.plugin import SchemaFactory

metadata = make_metadata("keysetq")
items = Table(
    "items", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("kind", Text, nullable=False),
    Column("rank", Integer, nullable=False),
)
KEYS = [items.c.created_at, items.c.id]


@pytest.fixture(scope="module")
async def database(make_service_schema: SchemaFactory) -> AsyncIterator[Database]:
    database = Database(await make_service_schema("keysetq"), pool_size=1, max_overflow=0)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    rows = [{"id": uuid.uuid4(), "created_at": start + timedelta(minutes=n // 2),  # ties
             "kind": "a" if n % 3 else "b", "rank": n} for n in range(11)]
    async with database.transaction() as session:
        await session.execute(insert(items), rows)
    yield database
    await database.dispose()


async def walk(database: Database, query: KeysetQuery, values: dict[str, Any],
               limit: int) -> list[Any]:
    seen: list[Any] = []
    cursor: str | None = None
    while True:
        async with database.transaction() as session:
            rows, cursor = await query.page(session, PageParams(limit=limit, cursor=cursor),
                                            values)
        seen += [row.rank for row in rows]
        if cursor is None:
            return seen


@pytest.mark.parametrize("descending", [False, True])
async def test_pages_match_keyset_page_for_the_same_filter(database: Database,
                                                           descending: bool) -> None:
    query = KeysetQuery(select(items).where(items.c.kind == bindparam("kind")), KEYS,
                        descending=descending)
    walked = await walk(database, query, {"kind": "a"}, limit=3)
    async with database.transaction() as session:
        expected, _ = await keyset_page(session, select(items).where(items.c.kind == "a"), KEYS,
                                        PageParams(limit=100, cursor=None),
                                        descending=descending)
    assert walked == [row.rank for row in expected]
    assert len(walked) == len(set(walked)) == 7


async def test_a_cursor_with_values_of_the_wrong_type_is_refused(database: Database) -> None:
    query = KeysetQuery(select(items), KEYS)
    forged = encode_cursor(["yesterday", str(uuid.uuid4())])
    async with database.transaction() as session:
        with pytest.raises(InvalidRequest) as refused:
            await query.page(session, PageParams(limit=2, cursor=forged), {})
    assert refused.value.errors is not None
    assert refused.value.errors[0].field == "query.cursor"


async def test_keyset_page_refuses_a_cursor_with_values_of_the_wrong_type_too(
        database: Database) -> None:
    forged = encode_cursor(["yesterday", str(uuid.uuid4())])
    async with database.transaction() as session:
        with pytest.raises(InvalidRequest) as refused:
            await keyset_page(session, select(items), KEYS, PageParams(limit=2, cursor=forged))
    assert refused.value.errors is not None
    assert refused.value.errors[0].field == "query.cursor"
