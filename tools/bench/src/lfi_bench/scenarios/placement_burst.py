"""Scenario 6: 500 simultaneous placement requests for 10 places, settled correctly.

The placements service runs on its seed data with the service's "today" fixed inside the
seeded 2025/26 calendar (the real date is past it). Every Early Intervention Base but one is
set to capacity 0 through the API, leaving exactly 10 places for the requests' type; then
500 requests for 500 different children are sent at once, on 500 connections. The time is
from the first request sent to the last answer received; afterwards the database must hold
exactly 10 offers at that base, 10 requests offered and 490 waiting.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from lfi_bench.context import BenchContext, NotMeasured
from lfi_bench.load.generator import LoadSpec
from lfi_bench.load.http import HttpSession
from lfi_bench.openapi import fetch_openapi, operation, request_body_problems
from lfi_bench.results import Result, below, equal, info
from lfi_bench.scenarios.common import Scenario
from lfi_shared.auth.principal import Role

NAME = "placement_burst"
TITLE = "500 simultaneous placement requests for 10 places"
REQUESTS = 500
PLACES = 10
TARGET_S = 3.0
PROVISION_TYPE = "eib"
YEAR_GROUP = "7"
# The service's "today": a school day of the seeded 2025/26 calendar, after the bases opened.
BENCH_TODAY = date(2025, 9, 8)
OPERATION = f"{__name__}:RequestPlacement"
REQUEST = "request"


def placement_request(provision: Mapping[str, Any], child_id: str) -> dict[str, Any]:
    return {
        "child_id": child_id,
        "home_school_urn": provision["host_school_urn"],
        "zone_id": provision["zone_id"],
        "year_group": YEAR_GROUP,
        "provision_type": PROVISION_TYPE,
        "priority": "standard",
        "requested_start": BENCH_TODAY.isoformat(),
    }


class RequestPlacement:
    """``POST /v1/placements/requests`` for a new child (201: offered or waitlisted)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.provision = dict(params["provision"])

    async def __call__(self, http: HttpSession, worker: int, iteration: int) -> bool:
        body = placement_request(self.provision, str(uuid.uuid4()))
        reply = await http.request(REQUEST, "POST", "/v1/placements/requests", json_body=body,
                                   headers={"Idempotency-Key": str(uuid.uuid4())},
                                   expect=(201,))
        return reply.ok


async def _leave_one_base(url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Set every base of the type but the first to capacity 0, the first to ``PLACES``.

    Raises:
        NotMeasured: the provisions cannot be listed or changed.
    """
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False,
                                 headers=headers) as http:
        listed = await http.get("/v1/provisions", params={"limit": 100})
        if listed.status_code != 200:
            raise NotMeasured(f"GET /v1/provisions answered {listed.status_code}")
        bases = sorted((p for p in listed.json().get("items", [])
                        if p.get("provision_type") == PROVISION_TYPE
                        and YEAR_GROUP in p.get("year_groups", [])), key=lambda p: p["name"])
        if not bases:
            raise NotMeasured(f"no seeded {PROVISION_TYPE} provision serves year {YEAR_GROUP}")
        kept = bases[0]
        for base in bases:
            capacity = PLACES if base is kept else 0
            if base["capacity"] == capacity:
                continue
            changed = await http.patch(f"/v1/provisions/{base['id']}",
                                       json={"capacity": capacity},
                                       headers={"If-Match": f'"{base["version"]}"'})
            if changed.status_code != 200:
                raise NotMeasured(f"PATCH /v1/provisions answered {changed.status_code}: "
                                  f"{changed.text[:300]}")
    found: dict[str, Any] = kept
    return found


async def _settled(database_url: str, provision_id: str) -> dict[str, int]:
    from lfi_placements.db.models import PlacementRequestRow, PlacementRow

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            statuses = dict((await conn.execute(
                select(PlacementRequestRow.status, func.count())
                .group_by(PlacementRequestRow.status))).tuples().all())
            offers = await conn.scalar(select(func.count()).select_from(PlacementRow).where(
                PlacementRow.provision_id == uuid.UUID(provision_id),
                PlacementRow.status == "offered"))
            held = await conn.scalar(select(func.count()).select_from(PlacementRow).where(
                PlacementRow.status.in_(("offered", "accepted", "active"))))
    finally:
        await engine.dispose()
    return {"offers_at_base": int(offers or 0), "places_held_anywhere": int(held or 0),
            **{f"requests_{k}": int(v) for k, v in statuses.items()}}


async def run(ctx: BenchContext) -> Result:
    server = await ctx.data_service(
        "placements", extra_env={"LFI_PLACEMENTS_FIXED_TODAY": BENCH_TODAY.isoformat()})
    document = await fetch_openapi(server.url)
    create = operation(document, "post", "/v1/placements/requests")
    if create is None or operation(document, "patch", "/v1/provisions/{provision_id}") is None:
        raise NotMeasured("the placements service has no POST /v1/placements/requests and "
                          "PATCH /v1/provisions/{provision_id} yet")
    headers = {"Authorization": f"Bearer {ctx.token(Role.placements_officer)}"}
    base = await _leave_one_base(server.url, headers)
    problems = request_body_problems(document, create, placement_request(base, str(uuid.uuid4())))
    if problems:
        raise NotMeasured("the bench's request body does not fit POST /v1/placements/requests: "
                          + "; ".join(problems))
    spec = LoadSpec(base_url=server.url, operation=OPERATION,
                    params={"provision": {k: base[k] for k in ("host_school_urn", "zone_id")}},
                    mode="burst", count=REQUESTS, headers=headers, timeout_s=120)
    report = await ctx.load(spec)
    if report.operations_ok == 0:
        raise NotMeasured("no placement request succeeded: " + "; ".join(report.error_samples))
    settled = await _settled(await ctx.env.schema_url("placements"), str(base["id"]))
    stats = report.overall.latency
    figures = [
        below("settle time", report.elapsed_s, "s", TARGET_S),
        equal("offers", float(settled["offers_at_base"]), "", PLACES),
        equal("places held", float(settled["places_held_anywhere"]), "", PLACES),
        equal("requests waitlisted", float(settled.get("requests_waiting", 0)), "",
              REQUESTS - PLACES),
        equal("errors", float(report.overall.errors), "", 0),
    ]
    if stats is not None:
        figures.insert(1, info("slowest answer", stats.max_ms, "ms"))
    details = {"load": report.to_json(), "settled": settled, "provision": base,
               "service_today": BENCH_TODAY.isoformat()}
    return Result.measured(NAME, TITLE, figures, details)


SCENARIO = Scenario(NAME, TITLE, run)
