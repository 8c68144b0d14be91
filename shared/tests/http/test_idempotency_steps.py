"""Idempotent creates taken step by step: what is stored for the key comes with the create's
first query, and the key is claimed with its answer by the create's one write. The same replays
and refusals as ``IdempotencyStore.run``, outside a transaction too (each statement committing
on its own), as here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import String, Uuid, bindparam, event, func, insert, select
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lfi_shared.app import create_service_app
from lfi_shared.db import make_metadata
from lfi_shared.http.idempotency import (
    CreatedResponse,
    IdempotencyKey,
    IdempotencyStore,
    add_idempotency_table,
)
from lfi_shared.http.problems import InvalidRequest
from lfi_shared.settings import ServiceSettings

SCHEMA = "idem_steps"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


class Memo(Base):
    __tablename__ = "memos"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


idempotency = IdempotencyStore(add_idempotency_table(Base.metadata))
memos = Memo.__table__
# The create's own query (here: is the text new?) with what is stored for the key.
_LOOKUP = idempotency.with_stored_answer(select(
    select(func.count()).select_from(memos).where(memos.c.text == bindparam("text"))
    .scalar_subquery().label("same_text")))
_MEMO = {"id": bindparam("memo_id", type_=Uuid), "text": bindparam("memo_text", type_=String)}
_INSERT = insert(memos).values(_MEMO)
_INSERT_CLAIMING = idempotency.storing(
    insert(memos).from_select(list(_MEMO), select(*_MEMO.values()).where(idempotency.claimed))
    .cte("new_memo"))
failing = {"before_write": False}


class MemoCreate(BaseModel):
    text: str = Field(min_length=1, max_length=200)


router = APIRouter()


async def autocommit_session(request: Request) -> AsyncIterator[AsyncSession]:
    engine = request.app.state.database.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with AsyncSession(engine) as session:
        yield session


@router.post("/v1/memos", status_code=201)
async def create_memo(body: MemoCreate, session: Annotated[AsyncSession, Depends(autocommit_session)],
                      key: IdempotencyKey = None) -> Response:
    claim = idempotency.claim(key=key, owner="tester", operation="create_memo", payload=body)
    if claim is not None:
        found = (await session.execute(_LOOKUP, {"text": body.text} | claim.parameters())).one()
        replayed = idempotency.replay_stored(claim, found.idempotency_answer)
        if replayed is not None:
            return replayed
    if failing["before_write"]:
        raise InvalidRequest("Refused before the write.")
    memo_id = uuid.uuid4()
    created = CreatedResponse(201, {"id": str(memo_id), "text": body.text},
                              {"Location": f"/v1/memos/{memo_id}"})
    values = {"memo_id": memo_id, "memo_text": body.text}
    if claim is None:
        await session.execute(_INSERT, values)
    elif not (await session.execute(_INSERT_CLAIMING,
                                    values | claim.answer_parameters(created))).scalar_one():
        return await idempotency.replay(session, claim)  # claimed by another request meanwhile
    return created.to_response()


@pytest.fixture(scope="module")
async def app(make_service_schema) -> AsyncIterator[FastAPI]:
    url = await make_service_schema(SCHEMA)
    settings = ServiceSettings(service_name="idem-steps", database_url=url, db_schema=SCHEMA,
                               environment="test")
    app = create_service_app(settings, title="t", description="t", routers=[router],
                             uses_nats=False)
    async with LifespanManager(app):
        async with app.state.database.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def _count(app: FastAPI, text: str) -> int:
    async with app.state.database.transaction() as session:
        return int(await session.scalar(
            select(func.count()).select_from(memos).where(memos.c.text == text)) or 0)


async def test_replays_the_first_answer_and_refuses_another_body(app: FastAPI,
                                                                  client: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    first = await client.post("/v1/memos", json={"text": "once"}, headers={"Idempotency-Key": key})
    again = await client.post("/v1/memos", json={"text": "once"}, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert "idempotent-replayed" not in first.headers
    assert again.headers.get("idempotent-replayed") == "true"
    assert await _count(app, "once") == 1
    other = await client.post("/v1/memos", json={"text": "other"},
                              headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert await _count(app, "other") == 0


async def test_concurrent_creates_with_one_key_make_one_memo(app: FastAPI,
                                                             client: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    replies = await asyncio.gather(*(
        client.post("/v1/memos", json={"text": f"race {key}"}, headers={"Idempotency-Key": key})
        for _ in range(8)))
    assert {r.status_code for r in replies} == {201}
    assert len({r.json()["id"] for r in replies}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in replies) == 7
    assert await _count(app, f"race {key}") == 1


async def test_a_create_refused_before_its_write_leaves_the_key_free(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    failing["before_write"] = True
    try:
        refused = await client.post("/v1/memos", json={"text": "retried"},
                                    headers={"Idempotency-Key": key})
    finally:
        failing["before_write"] = False
    assert refused.status_code == 422
    retried = await client.post("/v1/memos", json={"text": "retried"},
                                headers={"Idempotency-Key": key})
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert await _count(app, "retried") == 1


async def test_a_create_is_two_statements_without_a_transaction(
        app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # First a request on the pool: a new connection's own setup is not the requests' work.
    assert (await client.post("/v1/memos", json={"text": "warm-up"})).status_code == 201
    task = asyncio.current_task()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if asyncio.current_task() is task:
            statements.append(statement)

    start = AsyncAdapt_asyncpg_connection._start_transaction

    async def begin(adapted: AsyncAdapt_asyncpg_connection) -> None:
        if asyncio.current_task() is task and adapted.isolation_level != "autocommit":
            statements.append("BEGIN")
        await start(adapted)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "_start_transaction", begin)
    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        created = await client.post("/v1/memos", json={"text": "counted"},
                                    headers={"Idempotency-Key": str(uuid.uuid4())})
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert created.status_code == 201
    assert len(statements) == 2, statements  # and no BEGIN
    assert statements[0].lstrip().startswith("SELECT")
    assert statements[1].lstrip().startswith("WITH idempotency_claim AS")
    assert await _count(app, "counted") == 1


async def test_without_a_key_nothing_is_claimed(app: FastAPI, client: httpx.AsyncClient) -> None:
    first = await client.post("/v1/memos", json={"text": "keyless"})
    second = await client.post("/v1/memos", json={"text": "keyless"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert await _count(app, "keyless") == 2
