"""Strict ISO dates and RFC 3339 times, as a type and through a service's query and body."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Query
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from lfi_shared.app import create_service_app
from lfi_shared.http.temporal import IsoDate, IsoDateTime
from lfi_shared.settings import ServiceSettings

DATE = TypeAdapter(IsoDate)
DATE_TIME = TypeAdapter(IsoDateTime)

NOT_DATES: list[Any] = [0, 86400, 1700000000, 19000.0, "0", "86400", "1700000000", "20250908",
                        "2025-9-8", "08/09/2025", "2025-09-08T00:00:00Z", "", " 2025-09-08",
                        True, None, [], {}]
NOT_DATE_TIMES: list[Any] = [0, 1700000000, 1.5e9, "1700000000", "2025-09-08", "2025-09-08T10:00",
                             "2025-09-08T10:00:00", "2025-09-08 10:00", "20250908T100000Z",
                             "2025-09-08T10:00:00+0100", "", True, None, [],
                             datetime(2025, 9, 8, 10, 0)]


@pytest.mark.parametrize("value", NOT_DATES, ids=repr)
def test_a_date_is_only_yyyy_mm_dd(value: Any) -> None:
    with pytest.raises(ValidationError):
        DATE.validate_python(value)


def test_a_date_is_read_from_its_iso_form_or_taken_as_a_date() -> None:
    assert DATE.validate_python("2025-09-08") == date(2025, 9, 8)
    assert DATE.validate_python(date(2026, 2, 28)) == date(2026, 2, 28)
    assert DATE.validate_json('"2026-02-28"') == date(2026, 2, 28)
    with pytest.raises(ValidationError):
        DATE.validate_python("2026-02-30")
    with pytest.raises(ValidationError):
        DATE.validate_python(datetime(2026, 2, 28, tzinfo=UTC))


@pytest.mark.parametrize("text", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
def test_a_date_outside_the_years_1900_to_2999_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        DATE.validate_python(text)
    with pytest.raises(ValidationError):
        DATE_TIME.validate_python(f"{text}T00:00:00Z")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_every_date_round_trips_through_its_iso_form(day: date) -> None:
    assert DATE.validate_python(day.isoformat()) == day


@pytest.mark.parametrize("value", NOT_DATE_TIMES, ids=repr)
def test_a_date_time_is_only_rfc_3339_with_an_offset(value: Any) -> None:
    with pytest.raises(ValidationError):
        DATE_TIME.validate_python(value)


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-09-08T10:00:00Z", datetime(2025, 9, 8, 10, tzinfo=UTC)),
    ("2025-09-08t10:00:00.123456z", datetime(2025, 9, 8, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2025-10-26T01:30:00+01:00", datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
    ("2025-10-26 01:30:00-05:30", datetime(2025, 10, 26, 7, 0, tzinfo=UTC)),
])
def test_a_date_time_is_read_with_its_offset(text: str, expected: datetime) -> None:
    assert DATE_TIME.validate_python(text) == expected


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2999, 12, 30),
                    timezones=st.just(timezone(timedelta(hours=1)))))
def test_every_aware_time_round_trips_through_its_iso_form(moment: datetime) -> None:
    assert DATE_TIME.validate_python(moment.isoformat()) == moment
    assert DATE_TIME.validate_python(moment) == moment


def test_the_documented_schema_stays_a_formatted_string() -> None:
    assert DATE.json_schema() == {"type": "string", "format": "date"}
    assert DATE_TIME.json_schema() == {"type": "string", "format": "date-time"}


class Window(BaseModel):
    starts_on: IsoDate
    at: IsoDateTime | None = None


def _app() -> FastAPI:
    router = APIRouter()

    @router.get("/days")
    async def days(on: Annotated[IsoDate | None, Query()] = None) -> dict[str, str | None]:
        return {"on": on.isoformat() if on else None}

    @router.post("/windows")
    async def windows(window: Window) -> dict[str, str]:
        return {"starts_on": window.starts_on.isoformat()}

    settings = ServiceSettings(service_name="temporal", environment="test")
    return create_service_app(settings, title="temporal", description="Dates and times.",
                              routers=[router], uses_database=False, uses_nats=False)


async def _call(method: str, url: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, url, **kwargs)


@pytest.mark.parametrize("value", ["1700000000", "0", "86400", "20250908", "2025-09-08T00:00:00Z"])
async def test_a_query_date_that_is_not_iso_is_a_problem_naming_the_parameter(value: str) -> None:
    response = await _call("GET", "/days", params={"on": value})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["query.on"]
    assert value not in response.text


async def test_an_iso_query_date_is_accepted() -> None:
    response = await _call("GET", "/days", params={"on": "2025-09-08"})
    assert response.status_code == 200
    assert response.json() == {"on": "2025-09-08"}


@pytest.mark.parametrize(("body", "field"), [
    ({"starts_on": 86400}, "body.starts_on"),
    ({"starts_on": "2025-09-08", "at": 1700000000}, "body.at"),
    ({"starts_on": "2025-09-08", "at": "2025-09-08T10:00:00"}, "body.at"),
])
async def test_a_body_date_or_time_that_is_a_number_or_naive_is_a_problem(
        body: dict[str, Any], field: str) -> None:
    response = await _call("POST", "/windows", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
