"""Applications from a school to the panel's decision, the award's commitment and its
instalments over the terms that remain, payment runs with their CSV export, and reports."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

from conftest import FundingHarness, complete_evidence, new_urn
from sqlalchemy import select

from lfi_funding.db.models import platform
from lfi_shared.auth import Role

FY = "2025-26"  # seeded: approved budget and 2025/26 terms; the app's clock is 1 Dec 2025


async def outbox_events(funding: FundingHarness, event_type: str) -> list[dict[str, Any]]:
    outbox = platform.messaging.outbox
    async with funding.app.state.database.engine.connect() as conn:
        rows = (await conn.execute(select(outbox.c.payload).where(
            outbox.c.event_type == event_type).order_by(outbox.c.seq))).scalars().all()
    return list(rows)


async def test_a_mid_year_award_is_spread_over_the_remaining_terms(
        funding: FundingHarness) -> None:
    urn = new_urn()
    application = await funding.submitted_application(urn, FY, "8000.00")
    assert application["status"] == "submitted" and application["submitted_on"] == "2025-12-01"
    await funding.panel_with(date(2026, 1, 15), [application])  # autumn has ended by then

    r = await funding.client.post(
        f"/v1/funding/applications/{application['id']}/decision",
        headers={**funding.panel,
                 "If-Match": await funding.etag_of_application(application["id"])},
        json={"outcome": "approved", "reason": "Clear evidence of need"})
    assert r.status_code == 200, r.text
    decided = r.json()
    assert decided["status"] == "approved"
    assert decided["decision"]["amount_awarded"] == "8000.00"
    assert decided["decision"]["decided_on"] == "2026-01-15"

    schedule = (await funding.client.get(
        f"/v1/funding/applications/{application['id']}/payment-schedule",
        headers=funding.school(urn))).json()
    assert schedule["rule"] == "remaining_terms" and schedule["total"] == "8000.00"
    assert [(i["term"], i["due_on"], i["amount"]) for i in schedule["instalments"]] == [
        ("spring", "2026-01-15", "3000.00"), ("summer", "2026-04-15", "5000.00")]

    scheduled = [e for e in await outbox_events(funding, "lfi.funding.payments.scheduled.v1")
                 if e["data"]["application_id"] == application["id"]]
    assert scheduled[0]["data"]["instalments"] == [
        {"term": "spring", "due_on": "2026-01-15", "amount": "3000.00"},
        {"term": "summer", "due_on": "2026-04-15", "amount": "5000.00"}]
    decided_events = [e for e in await outbox_events(funding,
                                                     "lfi.funding.application.decided.v1")
                      if e["data"]["application_id"] == application["id"]]
    assert decided_events[0]["data"]["outcome"] == "approved"
    assert decided_events[0]["data"]["amount_awarded"] == "8000.00"
    submitted = [e for e in await outbox_events(funding, "lfi.funding.application.submitted.v1")
                 if e["data"]["application_id"] == application["id"]]
    assert submitted[0]["data"]["amount_requested"] == "8000.00"


async def test_an_award_before_autumn_ends_is_paid_four_three_five_twelfths(
        funding: FundingHarness) -> None:
    application = await funding.submitted_application(new_urn(), FY, "1200.01")
    await funding.panel_with(date(2025, 12, 10), [application])
    r = await funding.client.post(
        f"/v1/funding/applications/{application['id']}/decision",
        headers={**funding.panel,
                 "If-Match": await funding.etag_of_application(application["id"])},
        json={"outcome": "approved", "reason": "Agreed"})
    assert r.status_code == 200, r.text
    schedule = (await funding.client.get(
        f"/v1/funding/applications/{application['id']}/payment-schedule",
        headers=funding.officer)).json()
    amounts = [i["amount"] for i in schedule["instalments"]]
    assert amounts == ["400.00", "300.00", "500.01"]
    assert sum(map(Decimal, amounts)) == Decimal("1200.01")


async def test_part_approval_and_decline_need_their_reasons_and_amounts(
        funding: FundingHarness) -> None:
    first = await funding.submitted_application(new_urn(), FY, "5000.00")
    second = await funding.submitted_application(new_urn(), FY, "5000.00")
    await funding.panel_with(date(2026, 2, 3), [first, second])
    url = f"/v1/funding/applications/{first['id']}/decision"
    etag = await funding.etag_of_application(first["id"])
    r = await funding.client.post(url, headers={**funding.panel, "If-Match": etag},
                                  json={"outcome": "part_approved", "reason": "Partly"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount"
    r = await funding.client.post(url, headers={**funding.panel, "If-Match": etag},
                                  json={"outcome": "part_approved", "amount": "2500.00",
                                        "reason": "Half of the cohort"})
    assert r.status_code == 200 and r.json()["decision"]["amount_awarded"] == "2500.00"
    again = await funding.client.post(url, headers={**funding.panel,
                                                    "If-Match": r.headers["etag"]},
                                      json={"outcome": "declined", "reason": "Twice"})
    assert again.status_code == 409 and again.json()["type"].endswith("/illegal-transition")

    r = await funding.client.post(
        f"/v1/funding/applications/{second['id']}/decision",
        headers={**funding.panel, "If-Match": await funding.etag_of_application(second["id"])},
        json={"outcome": "declined", "reason": "Needs met from the formula allocation"})
    assert r.status_code == 200
    assert r.json()["status"] == "declined" and r.json()["decision"]["amount_awarded"] == "0.00"
    none = await funding.client.get(f"/v1/funding/applications/{second['id']}/payment-schedule",
                                    headers=funding.officer)
    assert none.status_code == 404


async def test_schools_see_and_write_only_their_own_applications(
        funding: FundingHarness) -> None:
    urn, other = new_urn(), new_urn()
    mine = await funding.submitted_application(urn, FY, "900.00")
    r = await funding.client.get(f"/v1/funding/applications/{mine['id']}",
                                 headers=funding.school(other))
    assert r.status_code == 404
    r = await funding.client.post("/v1/funding/applications", headers=funding.school(other),
                                  json={"school_urn": urn, "financial_year": FY,
                                        "scope": "cohort"})
    assert r.status_code == 403
    listed = (await funding.client.get("/v1/funding/applications",
                                       headers=funding.school(urn))).json()["items"]
    assert [a["id"] for a in listed] == [mine["id"]]
    r = await funding.client.post(f"/v1/funding/applications/{mine['id']}/decision",
                                  headers={**funding.school(urn), "If-Match": '"2"'},
                                  json={"outcome": "approved", "reason": "Self-approved"})
    assert r.status_code == 403
    r = await funding.client.post(f"/v1/funding/applications/{mine['id']}/withdraw",
                                  headers={**funding.as_(Role.auditor), "If-Match": '"2"'},
                                  json={"reason": "x"})
    assert r.status_code == 403


async def test_an_incomplete_draft_cannot_be_submitted_and_says_what_is_missing(
        funding: FundingHarness) -> None:
    urn = new_urn()
    r = await funding.client.post("/v1/funding/applications", headers=funding.school(urn),
                                  json={"school_urn": urn, "financial_year": FY,
                                        "scope": "whole_school",
                                        "evidence": {"needs_profile": "SEMH: 12"}})
    assert r.status_code == 201
    r = await funding.client.post(f"/v1/funding/applications/{r.json()['id']}/submit",
                                  headers={**funding.school(urn), "If-Match": r.headers["etag"]})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {
        "evidence.provision_map_summary", "evidence.planned_approach", "evidence.cohort_size",
        "evidence.amount_requested_pence"}


async def test_creating_an_application_twice_with_one_key_opens_one(
        funding: FundingHarness) -> None:
    urn = new_urn()
    body = {"school_urn": urn, "financial_year": FY, "scope": "cohort",
            "evidence": complete_evidence("100.00")}
    headers = {**funding.school(urn), "Idempotency-Key": f"k-{urn}"}
    first = await funding.client.post("/v1/funding/applications", headers=headers, json=body)
    again = await funding.client.post("/v1/funding/applications", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]


async def test_a_payment_run_pays_due_instalments_once_and_exports_csv(
        funding: FundingHarness) -> None:
    urn = new_urn()
    application = await funding.submitted_application(urn, FY, "4000.00")
    await funding.panel_with(date(2026, 1, 20), [application])
    r = await funding.client.post(
        f"/v1/funding/applications/{application['id']}/decision",
        headers={**funding.panel,
                 "If-Match": await funding.etag_of_application(application["id"])},
        json={"outcome": "approved", "reason": "Agreed"})
    assert r.status_code == 200

    r = await funding.client.post("/v1/funding/payment-runs", headers=funding.officer,
                                  json={"financial_year": FY, "term": "spring",
                                        "run_on": "2026-01-31"})
    assert r.status_code == 201, r.text
    run = r.json()
    export = await funding.client.get(f"/v1/funding/payment-runs/{run['id']}/export",
                                      headers=funding.officer)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == run["instalments"]
    assert sum(Decimal(row["amount"]) for row in rows) == Decimal(run["total"])
    mine = [row for row in rows if row["urn"] == urn]
    assert [(m["kind"], m["term"], m["amount"], m["reference"]) for m in mine] == [
        ("award", "spring", "1500.00", application["id"])]

    again = await funding.client.post("/v1/funding/payment-runs", headers=funding.officer,
                                      json={"financial_year": FY, "term": "spring",
                                            "run_on": "2026-01-31"})
    assert again.status_code == 409  # nothing left to pay: nothing is paid twice

    schools = (await funding.client.get(f"/v1/funding/reports/years/{FY}/schools",
                                        headers=funding.school(urn))).json()["items"]
    assert [(s["urn"], s["awards_committed"], s["paid"], s["unpaid"]) for s in schools] == [
        (urn, "4000.00", "1500.00", "2500.00")]


async def test_reports_give_budget_committed_paid_and_remaining(
        funding: FundingHarness) -> None:
    report = await funding.client.get(f"/v1/funding/reports/years/{FY}/blocks",
                                      headers=funding.as_(Role.auditor))
    assert report.status_code == 200
    blocks = {b["block"]: b for b in report.json()["blocks"]}
    budget = (await funding.client.get(f"/v1/funding/years/{FY}/budget",
                                       headers=funding.officer)).json()
    cohort = blocks["cohort"]
    assert cohort["budget"] == budget["cohort_block"]
    assert cohort["committed"] == budget["committed"]
    assert Decimal(cohort["remaining"]) == Decimal(cohort["budget"]) - Decimal(
        cohort["committed"])
    zones = (await funding.client.get(f"/v1/funding/reports/years/{FY}/zones",
                                      headers=funding.officer)).json()["zones"]
    assert sum(Decimal(z["awards_committed"]) for z in zones) == Decimal(budget["committed"])
    history = (await funding.client.get("/v1/funding/reports/history",
                                        headers=funding.officer)).json()["years"]
    assert [y["financial_year"] for y in history][:6] == [
        "2020-21", "2021-22", "2022-23", "2023-24", "2024-25", "2025-26"]
    assert history[0]["total"] == "9000000.00" and history[5]["total"] == "35000000.00"
    assert history[5]["change_from_previous"] == "0.00"
