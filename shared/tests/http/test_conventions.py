"""The HTTP conventions, exercised through a small app on the real database.

Problems for every error, cursor pages, ETag / If-Match, Idempotency-Key, request ids,
health and metrics.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Body, FastAPI, Response
from pydantic import BaseModel, Field
from sqlalchemy import DateTime, Integer, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lfi_shared.app import create_service_app
from lfi_shared.db import DriverQuery, make_metadata
from lfi_shared.http.concurrency import IfMatch, check_if_match, set_etag
from lfi_shared.http.deps import ReadingSessionDep, SessionDep
from lfi_shared.http.idempotency import (
    CreatedResponse,
    IdempotencyKey,
    IdempotencyStore,
    add_idempotency_table,
)
from lfi_shared.http.pagination import Page, PageQuery, keyset_page
from lfi_shared.http.problems import NotFound
from lfi_shared.settings import ServiceSettings

SCHEMA = "conv_notes"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    text: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


idempotency = IdempotencyStore(add_idempotency_table(Base.metadata))


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=200)
    priority: int = Field(ge=1, le=5)


class NoteRead(BaseModel):
    id: uuid.UUID
    text: str
    version: int


router = APIRouter()


@router.post("/v1/notes", status_code=201, response_model=NoteRead)
async def create_note(body: NoteCreate, session: SessionDep, key: IdempotencyKey = None) -> Response:
    async def create() -> CreatedResponse:
        note = Note(text=body.text)
        session.add(note)
        await session.flush()
        read = NoteRead(id=note.id, text=note.text, version=note.version)
        return CreatedResponse(201, read.model_dump(mode="json"), {"ETag": f'"{note.version}"'})

    return await idempotency.run(session, key=key, owner="tester", operation="create_note",
                                 payload=body, create=create)


@router.get("/v1/notes", response_model=Page[NoteRead])
async def list_notes(session: SessionDep, page: PageQuery) -> Page[NoteRead]:
    rows, next_cursor = await keyset_page(session, select(Note), [Note.created_at, Note.id], page)
    return Page(items=[NoteRead(id=n.id, text=n.text, version=n.version) for n in rows],
                next_cursor=next_cursor)


async def _load(session: SessionDep, note_id: uuid.UUID) -> Note:
    note = await session.get(Note, note_id)
    if note is None:
        raise NotFound("No such note.")
    return note


@router.get("/v1/notes/{note_id}", response_model=NoteRead)
async def read_note(note_id: uuid.UUID, session: SessionDep, response: Response) -> NoteRead:
    note = await _load(session, note_id)
    set_etag(response, note.version)
    return NoteRead(id=note.id, text=note.text, version=note.version)


@router.patch("/v1/notes/{note_id}", response_model=NoteRead)
async def edit_note(note_id: uuid.UUID, session: SessionDep, if_match: IfMatch, response: Response,
                    text: Annotated[str, Body(embed=True, min_length=1)]) -> NoteRead:
    note = await _load(session, note_id)
    check_if_match(if_match, note.version)
    note.text = text
    note.version += 1
    await session.flush()
    set_etag(response, note.version)
    return NoteRead(id=note.id, text=note.text, version=note.version)


@router.get("/v1/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture(scope="module")
async def client(make_service_schema) -> AsyncIterator[httpx.AsyncClient]:
    url = await make_service_schema(SCHEMA)
    settings = ServiceSettings(service_name="conventions", database_url=url, db_schema=SCHEMA,
                               environment="test")
    app: FastAPI = create_service_app(settings, title="t", description="t", routers=[router],
                                      uses_nats=False)
    async with LifespanManager(app):
        async with app.state.database.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_validation_problem_names_each_field_and_echoes_no_value(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/notes", json={"text": "", "priority": 9})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 422 and body["type"].endswith("/validation-error")
    assert {e["field"] for e in body["errors"]} == {"body.text", "body.priority"}
    assert "9" not in json.dumps(body["errors"])


async def test_unhandled_error_is_a_problem_without_internals(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in r.text and "RuntimeError" not in r.text


async def test_unknown_route_and_bad_path_param_are_problems(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/nowhere")
    assert r.status_code == 404 and r.json()["title"] == "Not found"
    r = await client.get("/v1/notes/not-a-uuid")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.note_id"


async def test_if_match_required_stale_refused_current_accepted(client: httpx.AsyncClient) -> None:
    created = (await client.post("/v1/notes", json={"text": "first", "priority": 1})).json()
    url = f"/v1/notes/{created['id']}"
    got = await client.get(url)
    etag = got.headers["etag"]
    assert etag == '"1"'

    missing = await client.patch(url, json={"text": "x"})
    assert missing.status_code == 428
    ok = await client.patch(url, json={"text": "second"}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"text": "third"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == '"2"'
    assert (await client.get(url)).json()["text"] == "second"


async def test_idempotency_key_replays_and_refuses_other_body(client: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    first = await client.post("/v1/notes", json={"text": "once", "priority": 2},
                              headers={"Idempotency-Key": key})
    again = await client.post("/v1/notes", json={"text": "once", "priority": 2},
                              headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    other = await client.post("/v1/notes", json={"text": "other", "priority": 2},
                              headers={"Idempotency-Key": key})
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"


async def test_concurrent_creates_with_one_key_make_one_note(client: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    body = {"text": f"race {key}", "priority": 3}
    replies = await asyncio.gather(*(
        client.post("/v1/notes", json=body, headers={"Idempotency-Key": key}) for _ in range(8)
    ))
    assert {r.status_code for r in replies} == {201}
    assert len({r.json()["id"] for r in replies}) == 1


async def test_pages_walk_every_item_once(client: httpx.AsyncClient) -> None:
    for i in range(7):
        await client.post("/v1/notes", json={"text": f"page {i}", "priority": 1})
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/notes", params=params)).json()
        seen += [n["id"] for n in page["items"]]
        assert len(page["items"]) <= 3
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 7
    bad = await client.get("/v1/notes", params={"limit": 500})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.limit"


async def test_request_id_is_returned_and_logged(client: httpx.AsyncClient,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lfi.http"):
        r = await client.get("/health/live", headers={"X-Request-ID": "req-abc-123"})
        r2 = await client.get("/v1/notes", headers={"X-Request-ID": "req-xyz-789"})
    assert r.headers["x-request-id"] == "req-abc-123"
    assert r2.headers["x-request-id"] == "req-xyz-789"
    assert r2.headers["traceparent"].startswith("00-")
    assert any("req-xyz-789" in str(rec.msg) for rec in caplog.records)


async def test_ready_and_metrics(client: httpx.AsyncClient) -> None:
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'lfi_http_requests_total{method="GET",route="/health/ready",status="200"}' in metrics.text


def test_extension_members_never_replace_standard_ones() -> None:
    from lfi_shared.http.problems import problem_response

    response = problem_response(409, detail="d", extra={"status": "draft", "current_status": "draft"})
    body = json.loads(bytes(response.body))
    assert body["status"] == 409
    assert body["current_status"] == "draft"


@router.get("/v1/notes-db-cut")
async def note_count_after_cut(session: SessionDep) -> dict[str, int]:
    # The request's own connection is ended under it, as a failover or a proxy restart would.
    await session.execute(select(func.pg_terminate_backend(func.pg_backend_pid())))
    return {"unreachable": 1}


_CUT = DriverQuery(select(func.pg_terminate_backend(func.pg_backend_pid())))


@router.get("/v1/notes-read-cut")
async def note_read_after_cut(session: ReadingSessionDep) -> dict[str, int]:
    # The same, for a read that asyncpg runs itself.
    await _CUT.fetchrow(session, {})
    return {"unreachable": 1}


@pytest.mark.parametrize("path", ["/v1/notes-db-cut", "/v1/notes-read-cut"])
async def test_a_lost_database_connection_is_a_503_problem_to_retry(client: httpx.AsyncClient,
                                                                    path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "1"


def _count(metrics: str, series: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


async def test_each_request_is_counted_and_timed_under_its_route(client: httpx.AsyncClient) -> None:
    series = 'lfi_http_requests_total{method="GET",route="/v1/notes/{note_id}",status="404"}'
    timed = 'lfi_http_request_duration_seconds_count{method="GET",route="/v1/notes/{note_id}"}'
    before = (await client.get("/metrics")).text
    for _ in range(3):
        assert (await client.get(f"/v1/notes/{uuid.uuid4()}")).status_code == 404
    after = (await client.get("/metrics")).text
    assert _count(after, series) - _count(before, series) == 3
    assert _count(after, timed) - _count(before, timed) == 3
    # the pool recovers: the next request is served
    assert (await client.get("/v1/notes", params={"limit": 1})).status_code == 200
