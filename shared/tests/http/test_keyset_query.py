"""KeysetQuery: a paged query built once walks every row once, as keyset_page does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    Table,
    Text,
    bindparam,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from lfi_shared.db import Database, make_metadata
from lfi_shared.http.pagination import (
    KeysetJsonQuery,
    KeysetQuery,
    Page,
    PageParams,
    encode_cursor,
    json_bool,
    json_date,
    json_datetime,
    json_number,
    json_object,
    json_string,
    json_text_array,
    json_uuid,
    keyset_page,
)
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
    # Ties two by two; some times have microseconds, some none.
    rows = [{"id": uuid.uuid4(),
             "created_at": start + timedelta(minutes=n // 2, microseconds=(n // 2) * 120_000),
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


class ItemRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    kind: str
    rank: int
    first: bool


ITEM_JSON = json_object([
    ("id", json_uuid(items.c.id)), ("created_at", json_datetime(items.c.created_at)),
    ("kind", json_string(items.c.kind)), ("rank", json_number(items.c.rank)),
    ("first", json_bool(items.c.rank == 0))])


@pytest.mark.parametrize("descending", [False, True])
async def test_json_pages_are_the_pages_pydantic_writes_with_the_same_cursors(
        database: Database, descending: bool) -> None:
    where = select(items).where(items.c.kind == bindparam("kind"))
    rows_query = KeysetQuery(where, KEYS, descending=descending)
    json_query = KeysetJsonQuery(where, KEYS, ITEM_JSON, descending=descending)
    cursor: str | None = None
    pages = 0
    while True:
        params = PageParams(limit=3, cursor=cursor)
        async with database.reading() as session:
            written = await json_query.page_json(session, params, {"kind": "a"})
        async with database.transaction() as session:
            rows, cursor = await rows_query.page(session, params, {"kind": "a"})
        expected = Page[ItemRead](items=[ItemRead(id=r.id, created_at=r.created_at, kind=r.kind,
                                                  rank=r.rank, first=r.rank == 0) for r in rows],
                                  next_cursor=cursor)
        assert written == expected.model_dump_json().encode()
        pages += 1
        if cursor is None:
            break
    assert pages == 3  # 7 rows, 3 a page


async def test_an_empty_json_page_and_a_forged_cursor(database: Database) -> None:
    query = KeysetJsonQuery(select(items).where(items.c.kind == bindparam("kind")), KEYS,
                            ITEM_JSON)
    async with database.reading() as session:
        empty = await query.page_json(session, PageParams(limit=5, cursor=None), {"kind": "z"})
        assert empty == b'{"items":[],"next_cursor":null}'
        forged = encode_cursor(["yesterday", str(uuid.uuid4())])
        with pytest.raises(InvalidRequest):
            await query.page_json(session, PageParams(limit=2, cursor=forged), {"kind": "a"})


class Values(BaseModel):
    text: str | None
    at: datetime | None
    on: date | None
    ref: uuid.UUID | None
    tags: list[str]
    n: int | None


TEXTS = ["plain", 'quote " and back\\slash', "tab\tnew\nline\x01\x1f\x7f", "é ✓ 🙂 \u2028 </script>",
         "", None]
TIMES = [datetime(2026, 3, 1, 9, 30, tzinfo=UTC), datetime(2026, 3, 1, 9, 30, 0, 120000, tzinfo=UTC),
         datetime(2026, 3, 1, 9, 30, 0, 1, tzinfo=UTC),
         datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None]


@pytest.mark.parametrize("n", range(6))
async def test_json_values_are_written_as_pydantic_writes_them(database: Database, n: int) -> None:
    values = {"text": TEXTS[n], "at": TIMES[n % len(TIMES)], "on": date(2026, 1, n + 1) if n % 3 else None,
              "ref": uuid.uuid4() if n % 2 else None, "tags": TEXTS[: n % 3] and ["7", "R", '"x"'],
              "n": n if n % 4 else None}
    stmt = select(json_object([
        ("text", json_string(bindparam("text", type_=Text))),
        ("at", json_datetime(bindparam("at", type_=DateTime(timezone=True)))),
        ("on", json_date(bindparam("on", type_=Date))),
        ("ref", json_uuid(bindparam("ref", type_=UUID(as_uuid=True)))),
        ("tags", json_text_array(bindparam("tags", type_=ARRAY(Text)))),
        ("n", json_number(bindparam("n", type_=Integer)))]))
    async with database.reading() as session:
        written = (await session.execute(stmt, values)).scalar_one()
    assert written == Values(**values).model_dump_json()
