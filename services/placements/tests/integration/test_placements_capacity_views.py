"""Capacity views: the headline totals come from the seed data; the term forecast matches a
hand-worked example; officers get the same as CSV."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable
from datetime import date

import httpx
from asgi_lifespan import LifespanManager
from placements_harness import HarnessFactory

from lfi_placements.main import create_app
from lfi_placements.seed import load_seed
from lfi_placements.settings import Settings
from lfi_shared.auth import Role
from lfi_shared.db import Database
from lfi_shared.testing.auth import bearer


async def test_seed_data_totals_90_eib_and_224_apc_places(
        migrated_service_database: Callable[[str], Awaitable[str]], token_factory,
        local_keys, nats_url: str, nats_namespace: str) -> None:
    url = await migrated_service_database("placements")
    database = Database(url)
    try:
        async with database.transaction() as session:
            assert await load_seed(session) > 0
        async with database.transaction() as session:
            assert await load_seed(session) == 0  # idempotent
    finally:
        await database.dispose()
    settings = Settings(database_url=url, nats_url=nats_url, nats_namespace=nats_namespace,
                        environment="test", auth_jwks_file=local_keys.jwks_path,
                        offer_sweep_interval_s=0)
    app = create_app(settings)
    headers = bearer(token_factory(Role.placements_officer))
    async with LifespanManager(app, startup_timeout=30), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://placements") as client:
        # Once every centre has opened (September 2026).
        view = (await client.get("/v1/capacity", params={"on": "2026-09-14"},
                                 headers=headers)).json()
        by_type = {t["provision_type"]: t for t in view["by_type"]}
        assert (by_type["eib"]["provisions"], by_type["eib"]["capacity"]) == (9, 90)
        assert (by_type["apc"]["provisions"], by_type["apc"]["capacity"]) == (10, 224)
        assert view["overall"]["capacity"] == 314 and view["overall"]["free"] == 314
        assert sum(z["capacity"] for z in view["by_zone"]) == 314
        # Before then, only King's Lynn Academy's centre takes placements.
        early = (await client.get("/v1/capacity", params={"on": "2025-10-01"},
                                  headers=headers)).json()
        apc = next(t for t in early["by_type"] if t["provision_type"] == "apc")
        assert apc["provisions"] == 1
        listed = (await client.get("/v1/provisions", params={"limit": 50},
                                   headers=headers)).json()["items"]
        assert len(listed) == 19
        assert any(p["name"].startswith("King's Lynn Academy") for p in listed)
        exported = await client.get("/v1/capacity/export", params={"on": "2026-09-14"},
                                    headers=headers)
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == 19 + 2 + 1
        assert rows[-1]["name"] == "county" and rows[-1]["capacity"] == "314"
        school = bearer(token_factory(Role.school_staff, school_urns=["121234"]))
        denied = await client.get("/v1/capacity/export", headers=school)
        assert denied.status_code == 403


HOLDS = """
INSERT INTO placements.placement_requests
    (id, child_id, home_school_urn, year_group, provision_type, priority, requested_start,
     requested_at, status)
VALUES ($1, $2, '121234', '9', 'eib', 'standard', $3, now(), 'placed');
"""
PLACEMENT = """
INSERT INTO placements.placements
    (id, request_id, child_id, provision_id, provision_type, home_school_urn, status,
     start_date, planned_end, offered_on, offer_expires_on)
VALUES ($1, $2, $3, $4, 'eib', '121234', $5, $6, $7, '2025-09-01', '2025-09-15')
"""


async def test_term_forecast_matches_a_hand_worked_example(harness: HarnessFactory) -> None:
    h = await harness(fixed_today=date(2025, 10, 1))
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=3)
    placements = [  # status, start, planned end
        ("active", date(2025, 9, 3), date(2025, 12, 19)),     # P1
        ("accepted", date(2025, 10, 6), date(2025, 11, 28)),  # P2
        ("accepted", date(2025, 12, 1), date(2026, 3, 27)),   # P3: across the Christmas break
        ("offered", date(2026, 1, 6), date(2026, 3, 27)),     # P4
        ("offered", date(2026, 4, 15), date(2026, 7, 17)),    # P5
        ("ended", date(2025, 11, 3), date(2025, 12, 19)),     # holds nothing
    ]
    conn = await h.raw()
    try:
        for status, start, end in placements:
            request_id, child = uuid.uuid4(), uuid.uuid4()
            await conn.execute(HOLDS, request_id, child, start)
            await conn.execute(PLACEMENT, uuid.uuid4(), request_id, child, provision_id, status,
                               start, end)
    finally:
        await conn.close()

    reply = await h.client.get("/v1/capacity/forecast", headers=h.headers(), params={
        "period": "term", "count": 3, "provision_id": str(provision_id)})
    assert reply.status_code == 200, reply.text
    periods = reply.json()["provisions"][0]["periods"]
    # Worked by hand, from today (1 October 2025), capacity 3:
    # autumn 1 Oct to 19 Dec: P1 alone on 1 Oct, P1+P2 from 6 Oct, P1+P3 from 1 Dec → peak 2,
    #   free 1; P2 and P3 start in it; P1 and P2 end in it.
    # spring 6 Jan to 27 Mar: P3+P4 → peak 2, free 1; P4 starts; P3 and P4 end.
    # summer 15 Apr to 17 Jul: P5 → peak 1, free 2; P5 starts and ends.
    assert [(p["label"], p["first"], p["last"], p["capacity"], p["peak_held"], p["free"],
             p["starting"], p["ending"]) for p in periods] == [
        ("autumn 2025/26", "2025-10-01", "2025-12-19", 3, 2, 1, 2, 2),
        ("spring 2025/26", "2026-01-06", "2026-03-27", 3, 2, 1, 1, 2),
        ("summer 2025/26", "2026-04-15", "2026-07-17", 3, 1, 2, 1, 1),
    ]
    by_type = reply.json()["by_type"]
    assert [p["free"] for p in by_type[0]["periods"]] == [1, 1, 2]

    weekly = (await h.client.get("/v1/capacity/forecast", headers=h.headers(), params={
        "period": "week", "count": 2, "provision_id": str(provision_id)})).json()
    first_week = weekly["provisions"][0]["periods"][0]
    # Week of Monday 29 September, counted from Wednesday 1 October: P1, then P2 from 6 Oct
    # (the next week).
    assert (first_week["first"], first_week["last"], first_week["peak_held"]) == (
        "2025-10-01", "2025-10-05", 1)
