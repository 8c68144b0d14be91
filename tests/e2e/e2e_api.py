"""Calling the platform's REST API as its users do: a bearer token per role, ETags and
If-Match on changes, Idempotency-Key on creates, and clear failures showing the problem body."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import httpx

UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn(number: int) -> str:
    """A valid UPN (check letter per DESIGN §1) for a 12-digit serial ``number``."""
    body = f"{number:012d}"
    total = sum(int(ch) * position for position, ch in enumerate(body, start=2))
    return UPN_ALPHABET[total % 23] + body


def expect(response: httpx.Response, *statuses: int) -> Any:
    """The JSON body of ``response`` if its status is one of ``statuses`` (else a failure
    naming the request and showing the body)."""
    if response.status_code not in statuses:
        raise AssertionError(
            f"{response.request.method} {response.request.url.path} → {response.status_code}, "
            f"expected {statuses}: {response.text[:2000]}")
    if not response.content:
        return None
    return response.json()


class Api:
    """One caller (a token) of one base URL (the gateway, or a service called directly)."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, *, params: Mapping[str, Any] | None = None,
                  status: int = 200) -> Any:
        return expect(await self.http.get(path, params=params, headers=self.headers), status)

    async def get_response(self, path: str, *,
                           params: Mapping[str, Any] | None = None) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.headers)

    async def etag(self, path: str) -> tuple[Any, str]:
        """A resource and its ETag."""
        response = await self.http.get(path, headers=self.headers)
        body = expect(response, 200)
        return body, response.headers["etag"]

    async def create(self, path: str, body: Any, *, status: int = 201,
                     key: str | None = None) -> tuple[Any, str | None]:
        """POST a create with an Idempotency-Key; the body and the ETag (if any)."""
        headers = {**self.headers, "Idempotency-Key": key or str(uuid.uuid4())}
        response = await self.http.post(path, json=body, headers=headers)
        return expect(response, status), response.headers.get("etag")

    async def change(self, method: str, path: str, body: Any = None, *, if_match: str,
                     status: int = 200) -> tuple[Any, str | None]:
        """A transition or update with If-Match; the body and the new ETag."""
        headers = {**self.headers, "If-Match": if_match}
        response = await self.http.request(method, path, json=body, headers=headers)
        return expect(response, status), response.headers.get("etag")

    async def transition(self, path: str, action: str, body: Any = None, *,
                         status: int = 200) -> Any:
        """Read ``path`` for its ETag, then POST ``path/action`` with If-Match."""
        _, tag = await self.etag(path)
        result, _ = await self.change("POST", f"{path}/{action}", body, if_match=tag,
                                      status=status)
        return result

    async def all_pages(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every item of a cursor-paged list."""
        query = dict(params or {})
        items: list[Any] = []
        while True:
            page = await self.get(path, params=query)
            items.extend(page["items"])
            if not page.get("next_cursor"):
                return items
            query["cursor"] = page["next_cursor"]


def academic_year_label(first_year: int) -> str:
    return f"{first_year}/{(first_year + 1) % 100:02d}"


def academic_year_of(day: date) -> int:
    """The first calendar year of the academic year (1 September to 31 August) holding ``day``."""
    return day.year if day.month >= 9 else day.year - 1


def term_dates(first_year: int) -> list[tuple[str, date, date]]:
    """Illustrative term dates of a later academic year (Norfolk's 2025/26 pattern): entered
    as data by an officer, as the services expect for years after the seeded one."""
    y = first_year
    return [("autumn", date(y, 9, 3), date(y, 12, 18)),
            ("spring", date(y + 1, 1, 5), date(y + 1, 3, 26)),
            ("summer", date(y + 1, 4, 13), date(y + 1, 7, 16))]


def child_referral_body(school_urn: str, serial: int, *, year_group: str = "9",
                        agreed_on: date | None = None) -> dict[str, Any]:
    """A child referral (made-up identity; a valid UPN from ``serial``)."""
    return {
        "subject_kind": "child",
        "school_urn": school_urn,
        "child": {
            "given_name": f"Test{serial}", "family_name": "Journey",
            "date_of_birth": "2012-03-04", "upn": upn(926_000_000_000 + serial),
            "year_group": year_group, "sen_provision": "K", "primary_need": "SEMH",
        },
        "concerns": "At risk of exclusion; dysregulated in class.",
        "already_tried": "Pastoral support plan, reduced timetable.",
        "support_requested": ["apc_place"],
        "parental_agreement": {
            "given_by": "parent",
            # The day before: in the past by any server's clock.
            "agreed_on": (agreed_on or date.today() - timedelta(days=1)).isoformat()},
    }


def cohort_referral_body(school_urn: str, description: str, *,
                         support: tuple[str, ...] = ("outreach",)) -> dict[str, Any]:
    return {
        "subject_kind": "cohort", "school_urn": school_urn,
        "cohort": {"description": description, "pupil_count": 12, "year_groups": ["7"],
                   "primary_needs": ["SEMH"]},
        "concerns": "Rising suspensions in year 7.",
        "support_requested": list(support),
    }


def support_plan(focus: str) -> dict[str, Any]:
    """An accepted referral's support plan (TAS): enhanced, with EP time."""
    return {"support_plan": {
        "level": "enhanced", "focus": focus, "actions": ["EP consultation", "Outreach visits"],
        "ep_hours": "6", "review_on": (date.today() + timedelta(weeks=6)).isoformat(),
    }}
