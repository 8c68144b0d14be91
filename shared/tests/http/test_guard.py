"""Undeclared query parameters and text PostgreSQL cannot store are a 422 before any endpoint runs."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel

from lfi_shared.app import create_service_app
from lfi_shared.http.pagination import PageQuery
from lfi_shared.settings import ServiceSettings

CALLS: list[str] = []


class Note(BaseModel):
    text: str
    tags: list[str] = []
    extra: dict[str, Any] = {}


class Filters(BaseModel):
    colour: str | None = None


async def zone_filter(zone_id: Annotated[str | None, Query()] = None) -> str | None:
    return zone_id


def _app() -> FastAPI:
    router = APIRouter()

    @router.get("/notes")
    async def list_notes(page: PageQuery,
                         zone_id: Annotated[str | None, Depends(zone_filter)],
                         status: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
        CALLS.append("list")
        return {"zone_id": zone_id, "status": status}

    @router.get("/notes/{code}")
    async def read_note(code: str) -> dict[str, str]:
        CALLS.append("read")
        return {"code": code}

    @router.get("/shapes")
    async def shapes(filters: Annotated[Filters, Query()]) -> dict[str, str | None]:
        CALLS.append("shapes")
        return {"colour": filters.colour}

    @router.post("/notes")
    async def create_note(note: Note) -> dict[str, str]:
        CALLS.append("create")
        return {"text": note.text}

    settings = ServiceSettings(service_name="guard", environment="test")
    return create_service_app(settings, title="guard", description="Input guard.",
                              routers=[router], uses_database=False, uses_nats=False)


async def _call(method: str, url: str, **kwargs: Any) -> httpx.Response:
    CALLS.clear()
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, url, **kwargs)


def _fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


async def test_declared_query_parameters_of_the_operation_and_its_dependencies_pass() -> None:
    response = await _call("GET", "/notes", params=[("zone_id", "north"), ("status", "open"),
                                                    ("status", "closed"), ("limit", "10")])
    assert response.status_code == 200, response.text
    assert response.json() == {"zone_id": "north", "status": ["open", "closed"]}
    response = await _call("GET", "/shapes", params={"colour": "red"})
    assert response.json() == {"colour": "red"}


@pytest.mark.parametrize(("query", "field"), [
    ("zone=north", "query.zone"),
    ("=x", "query.<empty>"),
    ("limit=5&Zone_id=north", "query.Zone_id"),
])
async def test_an_undeclared_query_parameter_is_refused_by_name(query: str, field: str) -> None:
    response = await _call("GET", f"/notes?{query}")
    assert _fields(response) == [field]
    assert CALLS == []


async def test_a_single_valued_parameter_given_twice_is_refused_a_list_is_not() -> None:
    assert _fields(await _call("GET", "/notes?zone_id=north&zone_id=south")) == ["query.zone_id"]
    assert _fields(await _call("GET", "/notes?limit=5&limit=500")) == ["query.limit"]
    assert CALLS == []
    response = await _call("GET", "/notes?status=open&status=closed&status=held")
    assert response.json()["status"] == ["open", "closed", "held"]


async def test_a_query_model_declares_its_fields() -> None:
    assert _fields(await _call("GET", "/shapes?color=red")) == ["query.color"]


async def test_a_nul_character_in_a_query_or_path_value_is_refused() -> None:
    assert _fields(await _call("GET", "/notes?zone_id=a%00b")) == ["query.zone_id"]
    assert _fields(await _call("GET", "/notes/a%00b")) == ["path.code"]
    assert CALLS == []


@pytest.mark.parametrize(("body", "fields"), [
    ('{"text": "a\\u0000b"}', ["body.text"]),
    ('{"text": "ok", "tags": ["fine", "\\ud800"]}', ["body.tags.1"]),
    ('{"text": "ok", "extra": {"a\\u0000": 1, "b": {"c": "\\u0000"}}}',
     ["body.extra.<key>", "body.extra.b.c"]),
])
async def test_unstorable_text_anywhere_in_a_json_body_is_refused_by_path(
        body: str, fields: list[str]) -> None:
    response = await _call("POST", "/notes", content=body,
                           headers={"content-type": "application/json"})
    assert _fields(response) == fields
    assert "\\u0000" not in response.text
    assert CALLS == []


async def test_escaped_text_that_can_be_stored_passes() -> None:
    response = await _call("POST", "/notes", content='{"text": "caf\\u00e9 \\ud83d\\ude00"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"text": "café 😀"}


async def test_health_is_not_guarded() -> None:
    response = await _call("GET", "/health/live?probe=1")
    assert response.status_code == 200
