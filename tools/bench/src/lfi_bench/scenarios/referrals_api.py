"""What the referral scenarios (1 to 3) share: the referrals service, a school to refer from,
the requests they send, and checks that the API exists and takes them.

A submission is two requests, as a school's client makes them: ``POST /v1/referrals`` (a
draft, with an ``Idempotency-Key``) and ``POST /v1/referrals/{id}/submit`` under ``If-Match``
with the draft's ``ETag``. Rates count both.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from lfi_bench.context import BenchContext, NotMeasured
from lfi_bench.load.http import HttpSession
from lfi_bench.openapi import (
    fetch_openapi,
    find_path,
    operation,
    operations_under,
    query_parameters,
    request_body_problems,
)
from lfi_bench.processes import ServerProcess
from lfi_shared.auth.principal import Role

CREATE = "create"
SUBMIT = "submit"
LIST = "list"
SUBMIT_PATH = r"/v1/referrals/\{[^/}]+\}/submit"
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"  # DESIGN §1: 23 letters, no I, O, S


def upn(body12: str) -> str:
    """A valid permanent UPN for twelve digits: the check letter, then the digits.

    The check letter (DESIGN §1) is the letter at index (sum of digit x position, positions 2
    to 13) mod 23.
    """
    if len(body12) != 12 or not body12.isdigit():
        raise ValueError("a UPN body is twelve digits")
    total = sum(int(c) * position for position, c in enumerate(body12, start=2))
    return UPN_ALPHABET[total % 23] + body12


def child_referral(school_urn: str, serial: str) -> dict[str, Any]:
    """A draft child referral that a submission accepts (``serial``: nine digits)."""
    return {
        "subject_kind": "child",
        "school_urn": school_urn,
        "child": {
            "given_name": "Bench",
            "family_name": f"Pupil {serial}",
            "date_of_birth": "2014-03-15",
            "upn": upn(f"926{serial}"),
            "year_group": "7",
            "sen_provision": "K",
            "primary_need": "SEMH",
        },
        "concerns": "Benchmark referral: repeated suspensions, difficulty managing transitions.",
        "support_requested": ["ep_consultation"],
    }


def serial(phase: int, worker: int, iteration: int) -> str:
    """Nine digits unique per phase (one digit), worker (two) and iteration (six)."""
    return f"{phase % 10}{worker % 100:02d}{iteration % 1_000_000:06d}"


class SubmitReferral:
    """Create a draft child referral, then submit it with the ETag the create returned."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.school_urn = str(params["school_urn"])
        self.phase = int(params.get("phase", 1))

    async def __call__(self, http: HttpSession, worker: int, iteration: int) -> bool:
        body = child_referral(self.school_urn, serial(self.phase, worker, iteration))
        created = await http.request(CREATE, "POST", "/v1/referrals", json_body=body,
                                     headers={"Idempotency-Key": str(uuid.uuid4())},
                                     expect=(201,))
        if not created.ok:
            return False
        location = created.headers.get("location", "")
        referral_id = location.rsplit("/", 1)[-1] if location else None
        if not referral_id:
            data = created.json()
            referral_id = data.get("id") if isinstance(data, dict) else None
        etag = created.headers.get("etag")
        if not referral_id or not etag:
            raise RuntimeError("the create answered without the referral's id or ETag")
        submitted = await http.request(SUBMIT, "POST", f"/v1/referrals/{referral_id}/submit",
                                       headers={"If-Match": etag})
        return submitted.ok


class ListReferrals:
    """One page of referrals with the given query (filters and ``limit``)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.query = "&".join(f"{k}={v}" for k, v in dict(params["query"]).items())

    async def __call__(self, http: HttpSession, worker: int, iteration: int) -> bool:
        reply = await http.request(LIST, "GET", f"/v1/referrals?{self.query}")
        return reply.ok


@dataclass(frozen=True)
class ReferralsTarget:
    """The running referrals service, its API document, and a seeded school."""

    server: ServerProcess
    document: dict[str, Any]
    school_urn: str
    zone_id: str

    def bearer(self, ctx: BenchContext, role: Role) -> dict[str, str]:
        urns = [self.school_urn] if role is Role.school_staff else []
        return {"Authorization": f"Bearer {ctx.token(role, school_urns=urns)}"}


async def referrals_target(ctx: BenchContext) -> ReferralsTarget:
    """Start (or reuse) the referrals service and find a school of its seeded register.

    Raises:
        ServiceUnavailable: the service did not start.
        NotMeasured: it has no school list or no school.
    """
    server = await ctx.data_service("referrals")
    document = await fetch_openapi(server.url)
    if operation(document, "get", "/v1/schools") is None:
        raise NotMeasured("the referrals service has no GET /v1/schools to find a school")
    headers = {"Authorization": f"Bearer {ctx.token(Role.la_admin)}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=10, trust_env=False) as http:
        response = await http.get("/v1/schools", params={"limit": 1}, headers=headers)
    items = response.json().get("items") if response.status_code == 200 else None
    if not items:
        raise NotMeasured(f"no seeded school to refer from (GET /v1/schools answered "
                          f"{response.status_code}: {response.text[:200]})")
    return ReferralsTarget(server, document, str(items[0]["urn"]), str(items[0]["zone_id"]))


def require_submission_api(target: ReferralsTarget) -> None:
    """Raise :class:`NotMeasured` unless create and submit exist and take the bench's body."""
    create = operation(target.document, "post", "/v1/referrals")
    submit_path = find_path(target.document, "post", SUBMIT_PATH)
    if create is None or submit_path is None:
        present = ", ".join(operations_under(target.document, "/v1/referrals")) or "none"
        raise NotMeasured("the referrals service has no POST /v1/referrals and "
                          f"POST /v1/referrals/{{id}}/submit yet (it has: {present})")
    problems = request_body_problems(target.document, create,
                                     child_referral(target.school_urn, serial(0, 0, 0)))
    if problems:
        raise NotMeasured("the bench's referral body does not fit POST /v1/referrals: "
                          + "; ".join(problems))


def list_query(target: ReferralsTarget, limit: int) -> dict[str, str]:
    """The filters of the list scenario that ``GET /v1/referrals`` takes, and ``limit``.

    Raises:
        NotMeasured: there is no list operation.
    """
    listing = operation(target.document, "get", "/v1/referrals")
    if listing is None:
        raise NotMeasured("the referrals service has no GET /v1/referrals yet")
    offered = query_parameters(target.document, listing)
    wanted = {"status": "submitted", "school_urn": target.school_urn, "subject_kind": "child",
              "year_group": "7"}
    query = {name: value for name, value in wanted.items() if name in offered}
    if "limit" not in offered:
        raise NotMeasured("GET /v1/referrals takes no limit")
    query["limit"] = str(limit)
    return query
