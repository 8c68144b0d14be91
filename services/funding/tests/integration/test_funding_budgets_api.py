"""Budgets through the API: a draft until approved, then changed only by recorded adjustments;
the seeded history back to 2020-21; the seed is idempotent."""

from __future__ import annotations

from conftest import FundingHarness
from sqlalchemy import func, select

from lfi_funding.db.models import Budget, FormulaVersion, platform
from lfi_funding.seed import seed
from lfi_shared.auth import Role


async def test_a_budget_is_drafted_revised_approved_then_only_adjusted_with_a_reason(
        funding: FundingHarness) -> None:
    fy, url = "2026-27", "/v1/funding/years/2026-27/budget"
    r = await funding.client.post(url, headers=funding.officer,
                                  json={"total": "36000000.00", "formula_block": "9500000.00"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft" and r.json()["cohort_block"] == "26500000.00"
    dup = await funding.client.post(url, headers=funding.officer,
                                    json={"total": "1.00", "formula_block": "0.00"})
    assert dup.status_code == 409

    missing = await funding.client.patch(url, headers=funding.officer,
                                         json={"total": "36500000.00"})
    assert missing.status_code == 428
    revised = await funding.client.patch(url, headers={**funding.officer,
                                                       "If-Match": r.headers["etag"]},
                                         json={"total": "36500000.00"})
    assert revised.status_code == 200 and revised.json()["cohort_block"] == "27000000.00"
    stale = await funding.client.post(f"{url}/approve", json={},
                                      headers={**funding.officer, "If-Match": r.headers["etag"]})
    assert stale.status_code == 412

    approved = await funding.client.post(f"{url}/approve", json={"approved_on": "2026-02-20"},
                                         headers={**funding.officer,
                                                  "If-Match": revised.headers["etag"]})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    etag = approved.headers["etag"]
    r = await funding.client.patch(url, headers={**funding.officer, "If-Match": etag},
                                   json={"total": "1.00"})
    assert r.status_code == 409 and r.json()["current_status"] == "approved"

    blank = await funding.client.post(f"{url}/adjustments",
                                      headers={**funding.officer, "If-Match": etag},
                                      json={"block": "formula", "amount": "100.00",
                                            "reason": "   "})
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason"
    adjusted = await funding.client.post(
        f"{url}/adjustments", headers={**funding.officer, "If-Match": etag},
        json={"block": "formula", "amount": "-500000.00", "reason": "Transfer reduced"})
    assert adjusted.status_code == 200, adjusted.text
    body = adjusted.json()
    assert body["formula_block"] == "9000000.00" and body["total"] == "36000000.00"
    assert [(a["block"], a["amount"], a["reason"]) for a in body["adjustments"]] == [
        ("formula", "-500000.00", "Transfer reduced")]

    outbox = platform.messaging.outbox
    async with funding.app.state.database.engine.connect() as conn:
        events = (await conn.execute(select(outbox.c.payload).where(
            outbox.c.event_type == "lfi.funding.budget.approved.v1"))).scalars().all()
    assert [e["data"]["financial_year"] for e in events] == [fy]
    assert events[0]["data"]["cohort_block"] == "27000000.00"


async def test_bad_money_and_years_are_clear_problems(funding: FundingHarness) -> None:
    r = await funding.client.post("/v1/funding/years/2027-29/budget", headers=funding.officer,
                                  json={"total": "1.00", "formula_block": "0.00"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.fy"
    r = await funding.client.post("/v1/funding/years/2027-28/budget", headers=funding.officer,
                                  json={"total": "12.345", "formula_block": "£5"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"body.total", "body.formula_block"}
    r = await funding.client.post("/v1/funding/years/2027-28/budget", headers=funding.officer,
                                  json={"total": "10.00", "formula_block": "20.00"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "formula_block_above_total"


async def test_only_managers_change_budgets_and_schools_cannot_read_them(
        funding: FundingHarness) -> None:
    for role in (Role.auditor, Role.panel_member, Role.school_staff):
        r = await funding.client.post("/v1/funding/years/2028-29/budget",
                                      headers=funding.as_(role),
                                      json={"total": "1.00", "formula_block": "0.00"})
        assert r.status_code == 403, role
    assert (await funding.client.get("/v1/funding/years/2025-26/budget",
                                     headers=funding.as_(Role.auditor))).status_code == 200
    assert (await funding.client.get("/v1/funding/years/2025-26/budget",
                                     headers=funding.school("121234"))).status_code == 403
    assert (await funding.client.get("/v1/funding/years/2025-26/budget")).status_code == 401


async def test_the_seeded_history_goes_back_to_2020_21_and_seeding_again_changes_nothing(
        funding: FundingHarness) -> None:
    years = (await funding.client.get("/v1/funding/years", headers=funding.officer)).json()
    seeded = [(y["financial_year"], y["total"]) for y in years["items"]][:6]
    assert seeded[0] == ("2020-21", "9000000.00") and seeded[5] == ("2025-26", "35000000.00")
    assert all(y["status"] == "approved" for y in years["items"][:6])
    engine = funding.app.state.database.engine

    async def counts() -> tuple[int, int]:
        async with engine.connect() as conn:
            budgets = (await conn.execute(select(func.count()).select_from(Budget))).scalar_one()
            formulas = (await conn.execute(
                select(func.count()).select_from(FormulaVersion))).scalar_one()
        return budgets, formulas

    before = await counts()
    await seed(funding.settings)
    assert await counts() == before
