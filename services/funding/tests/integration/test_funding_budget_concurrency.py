"""The cohort / whole-school block is never over-committed, whatever the concurrency, and the
database itself refuses a write that would bypass the service."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from conftest import FundingHarness, new_urn
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError


async def test_parallel_approvals_never_take_commitments_past_the_cohort_block(
        funding: FundingHarness) -> None:
    fy = "2031-32"
    await funding.approved_budget(fy, total="100000.00")
    applications = [await funding.submitted_application(new_urn(), fy, "30000.00")
                    for _ in range(8)]
    await funding.panel_with(date(2031, 9, 10), applications)
    etags = [await funding.etag_of_application(a["id"]) for a in applications]

    # Eight panel members decide at once, each request on its own connection and transaction.
    replies = await asyncio.gather(*(
        funding.client.post(f"/v1/funding/applications/{a['id']}/decision",
                            headers={**funding.panel, "If-Match": etag},
                            json={"outcome": "approved", "reason": "Strong evidence"})
        for a, etag in zip(applications, etags, strict=True)))

    accepted = [r for r in replies if r.status_code == 200]
    refused = [r for r in replies if r.status_code == 409]
    assert len(accepted) == 3 and len(refused) == 5, [r.status_code for r in replies]
    for r in refused:
        problem = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert problem["type"].endswith("/budget-exceeded")
        assert problem["remaining"] == "10000.00" and problem["requested"] == "30000.00"
        assert "10000.00 remains uncommitted" in problem["detail"]

    budget = (await funding.client.get(f"/v1/funding/years/{fy}/budget",
                                       headers=funding.officer)).json()
    assert budget["committed"] == "90000.00" and budget["remaining"] == "10000.00"

    # A refused application is still on the agenda; part-approving what remains fits exactly.
    left = next(a for a, r in zip(applications, replies, strict=True) if r.status_code == 409)
    r = await funding.client.post(
        f"/v1/funding/applications/{left['id']}/decision",
        headers={**funding.panel, "If-Match": await funding.etag_of_application(left["id"])},
        json={"outcome": "part_approved", "amount": "10000.00", "reason": "What remains"})
    assert r.status_code == 200, r.text
    budget = (await funding.client.get(f"/v1/funding/years/{fy}/budget",
                                       headers=funding.officer)).json()
    assert budget["committed"] == "100000.00" and budget["remaining"] == "0.00"


async def test_a_raw_update_past_the_block_is_refused_by_the_database(
        funding: FundingHarness) -> None:
    fy = "2032-33"
    await funding.approved_budget(fy, total="50000.00", terms=False)
    engine = funding.app.state.database.engine
    with pytest.raises(IntegrityError, match="ck_budgets_committed_within_cohort"):
        async with engine.begin() as conn:
            await conn.execute(text(
                "UPDATE funding.budgets SET committed_pence = cohort_block_pence + 1 "
                "WHERE financial_year = :fy"), {"fy": fy})
    budget = (await funding.client.get(f"/v1/funding/years/{fy}/budget",
                                       headers=funding.officer)).json()
    assert budget["committed"] == "0.00"


async def test_the_cohort_block_cannot_be_adjusted_below_its_commitments(
        funding: FundingHarness) -> None:
    fy = "2033-34"
    await funding.approved_budget(fy, total="40000.00")
    application = await funding.submitted_application(new_urn(), fy, "30000.00")
    await funding.panel_with(date(2033, 9, 10), [application])
    r = await funding.client.post(
        f"/v1/funding/applications/{application['id']}/decision",
        headers={**funding.panel,
                 "If-Match": await funding.etag_of_application(application["id"])},
        json={"outcome": "approved", "reason": "Meets the criteria"})
    assert r.status_code == 200, r.text
    budget = await funding.client.get(f"/v1/funding/years/{fy}/budget", headers=funding.officer)
    r = await funding.client.post(
        f"/v1/funding/years/{fy}/budget/adjustments",
        headers={**funding.officer, "If-Match": budget.headers["etag"]},
        json={"block": "cohort", "amount": "-20000.00", "reason": "In-year saving"})
    assert r.status_code == 409 and r.json()["type"].endswith("/budget-exceeded")
    r = await funding.client.post(
        f"/v1/funding/years/{fy}/budget/adjustments",
        headers={**funding.officer, "If-Match": budget.headers["etag"]},
        json={"block": "cohort", "amount": "-10000.00", "reason": "In-year saving"})
    assert r.status_code == 200, r.text
    assert r.json()["cohort_block"] == "30000.00" and r.json()["remaining"] == "0.00"
    assert r.json()["adjustments"][0]["reason"] == "In-year saving"
