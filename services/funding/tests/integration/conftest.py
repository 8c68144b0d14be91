"""Fixtures of the funding service's integration tests: a migrated, seeded database of the
module's own, the app with its relay and consumer on the real NATS, tokens per role, and
factories that build data through the API as a user would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from lfi_funding.main import create_app
from lfi_funding.seed import seed
from lfi_funding.settings import Settings
from lfi_shared.auth import Role
from lfi_shared.messaging import ensure_stream
from lfi_shared.testing.auth import bearer

FIXED_NOW = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
"""The time the app sees: 1 December 2025, in the autumn term of 2025/26."""


@dataclass
class FundingHarness:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    token: Callable[..., str]

    def as_(self, role: Role, **claims: Any) -> dict[str, str]:
        return bearer(self.token(role, **claims))

    @property
    def officer(self) -> dict[str, str]:
        return self.as_(Role.funding_officer)

    @property
    def panel(self) -> dict[str, str]:
        return self.as_(Role.panel_member)

    def school(self, urn: str) -> dict[str, str]:
        return self.as_(Role.school_staff, school_urns=[urn])

    # -- factories, through the API ----------------------------------------------------------

    async def approved_budget(self, fy: str, *, total: str, formula_block: str = "0.00",
                              terms: bool = True) -> dict[str, Any]:
        r = await self.client.post(f"/v1/funding/years/{fy}/budget", headers=self.officer,
                                   json={"total": total, "formula_block": formula_block})
        assert r.status_code == 201, r.text
        r = await self.client.post(f"/v1/funding/years/{fy}/budget/approve",
                                   headers={**self.officer, "If-Match": r.headers["etag"]},
                                   json={})
        assert r.status_code == 200, r.text
        if terms:
            start = int(fy[:4])
            r2 = await self.client.put(f"/v1/funding/years/{fy}/terms", headers=self.officer,
                                       json=terms_for(start))
            assert r2.status_code == 200, r2.text
        body: dict[str, Any] = r.json()
        return body

    async def submitted_application(self, urn: str, fy: str, amount: str) -> dict[str, Any]:
        r = await self.client.post("/v1/funding/applications", headers=self.school(urn), json={
            "school_urn": urn, "financial_year": fy, "scope": "cohort",
            "evidence": complete_evidence(amount)})
        assert r.status_code == 201, r.text
        r = await self.client.post(f"/v1/funding/applications/{r.json()['id']}/submit",
                                   headers={**self.school(urn), "If-Match": r.headers["etag"]})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def panel_with(self, meeting_on: date, applications: list[dict[str, Any]]
                         ) -> dict[str, Any]:
        r = await self.client.post("/v1/funding/panels", headers=self.officer,
                                   json={"meeting_on": meeting_on.isoformat()})
        assert r.status_code == 201, r.text
        panel = r.json()
        etag = r.headers["etag"]
        for application in applications:
            r = await self.client.post(f"/v1/funding/panels/{panel['id']}/agenda",
                                       headers={**self.officer, "If-Match": etag},
                                       json={"application_id": application["id"]})
            assert r.status_code == 200, r.text
            etag = r.headers["etag"]
        result: dict[str, Any] = r.json()
        return result

    async def etag_of_application(self, application_id: str) -> str:
        r = await self.client.get(f"/v1/funding/applications/{application_id}",
                                  headers=self.officer)
        assert r.status_code == 200, r.text
        return r.headers["etag"]


def terms_for(start_year: int) -> dict[str, Any]:
    """Term dates of the academic year starting in September of ``start_year``."""
    y, n = start_year, start_year + 1
    return {"academic_year": f"{y}/{n % 100:02d}", "terms": [
        {"term": "autumn", "starts_on": f"{y}-09-03", "ends_on": f"{y}-12-19",
         "payment_on": f"{y}-09-03"},
        {"term": "spring", "starts_on": f"{n}-01-06", "ends_on": f"{n}-03-27",
         "payment_on": f"{n}-01-06"},
        {"term": "summer", "starts_on": f"{n}-04-15", "ends_on": f"{n}-07-17",
         "payment_on": f"{n}-04-15"}]}


def complete_evidence(amount: str) -> dict[str, Any]:
    return {"needs_profile": "SEMH: 6; SLCN: 4", "provision_map_summary": "Nurture group",
            "planned_approach": "Trauma-informed practice for the Year 7 cohort",
            "cohort_size": 10, "amount_requested": amount}


def new_urn() -> str:
    return f"{uuid.uuid4().int % 900000 + 100000}"


@pytest.fixture(scope="module")
async def funding(migrated_service_database, nats_url: str, nats_namespace: str,
                  local_keys, token_factory) -> AsyncIterator[FundingHarness]:
    """The funding app on a new, migrated and seeded database of this module's own."""
    url = await migrated_service_database("funding")
    settings = Settings(database_url=url, nats_url=nats_url, nats_namespace=nats_namespace,
                        environment="test", auth_jwks_file=local_keys.jwks_path,
                        relay_poll_interval_s=0.2, consumer_fetch_timeout_s=0.5,
                        referrals_consumer=f"funding-referrals-{uuid.uuid4().hex[:8]}",
                        db_pool_size=20, log_level="WARNING")
    await seed(settings)
    # The referrals stream exists before the consumer starts (in a real stack the referrals
    # relay makes it), so the consumer does not start in back-off.
    nc = await nats.connect(nats_url)
    try:
        await ensure_stream(nc.jetstream(), settings, "referrals")
    finally:
        await nc.close()
    app = create_app(settings)
    app.state.clock = lambda: FIXED_NOW
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://funding") as client:
            yield FundingHarness(app, client, settings, token_factory)
