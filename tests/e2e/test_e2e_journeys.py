"""The journey of DESIGN §3, end to end, through the gateway, with every service running as its
own process against real PostgreSQL and NATS JetStream.

1. A school refers a child; TAS triages and accepts it with a support plan and asks for an APC
   place; placements offers it; the officer records the parents' agreement, starts and ends the
   placement with an outcome; the freed place goes to the next child waiting.
2. A school refers a cohort; TAS asks for an Element 3 review; funding opens an application;
   the panel meets and awards; the award is scheduled 4/12, 3/12, 5/12 (or over the terms that
   remain).
3. Each referral shows its outcome from those events; the events service shows each journey as
   one timeline, in order.

Only what a user of the API sees is asserted (statuses and bodies); waits poll until the
asynchronous effect shows, with a generous timeout, never a timing.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from e2e_api import (
    Api,
    academic_year_label,
    academic_year_of,
    child_referral_body,
    cohort_referral_body,
    expect,
    support_plan,
    term_dates,
)
from e2e_stack import E2EStack, client, delete_streams, eventually, start_stack, stop_stack

from lfi_shared.auth.principal import Role

pytestmark = pytest.mark.timeout(600)

WAIT_S = 120.0  # how long an event's effect may take to show, on a loaded CI machine
_serial = itertools.count(1)  # UPNs: the module's database is its own


@pytest.fixture(scope="module")
async def stack(tmp_path_factory, test_database, nats_url, run_id, local_keys
                ) -> AsyncIterator[E2EStack]:
    running, _ = await start_stack(
        workdir=tmp_path_factory.mktemp("e2e-journeys"), test_database=test_database,
        tag="e2e_journeys", nats_url=nats_url, namespace=f"e2ej{run_id}",
        jwks_path=local_keys.jwks_path,
        extra_env={
            # Polling through the gateway is one client; the journeys test routing, not limits.
            "LFI_GATEWAY_RATE_LIMIT": "100000/minute",
            # Shorter idle fetches: consumers notice a stop sooner (no effect on delivery).
            "LFI_REFERRALS_CONSUMER_FETCH_TIMEOUT_S": "1",
            "LFI_FUNDING_CONSUMER_FETCH_TIMEOUT_S": "1",
            "LFI_EVENTS_STORE_FETCH_TIMEOUT_S": "1",
            "LFI_PLACEMENTS_OFFER_SWEEP_INTERVAL_S": "0",
        })
    try:
        yield running
    finally:
        await stop_stack(running, test_database)
        await delete_streams(nats_url, f"e2ej{run_id}")


@pytest.fixture(scope="module")
async def gateway(stack: E2EStack) -> AsyncIterator[Any]:
    async with client(stack.gateway_url) as http:
        yield http


@dataclass
class School:
    urn: str
    zone_id: str
    zone_code: str


@pytest.fixture(scope="module")
async def admin(gateway, token_factory) -> Api:
    return Api(gateway, token_factory(Role.la_admin, subject="e2e-la-admin"))


async def sample_school(admin: Api, index: int) -> School:
    """A school of the sample register the referrals seed loaded (URNs 990001…)."""
    schools = await admin.get("/v1/schools", params={"limit": 50})
    chosen = schools["items"][index]
    zone = await admin.get(f"/v1/zones/{chosen['zone_id']}")
    return School(urn=chosen["urn"], zone_id=chosen["zone_id"], zone_code=zone["code"])


async def refer_and_accept(school_api: Api, practitioner: Api, body: dict[str, Any],
                           focus: str) -> dict[str, Any]:
    """School creates and submits; TAS triages and accepts with a support plan."""
    created, _ = await school_api.create("/v1/referrals", body)
    assert created["status"] == "draft"
    path = f"/v1/referrals/{created['id']}"
    submitted = await school_api.transition(path, "submit")
    assert submitted["status"] == "submitted"
    triaged = await practitioner.transition(path, "triage", {})
    assert triaged["status"] == "triaged"
    accepted = await practitioner.transition(path, "accept", support_plan(focus))
    assert accepted["status"] == "accepted"
    return accepted


async def ensure_placement_calendar(officer: Api, until_year: int) -> None:
    """Term dates for every academic year up to ``until_year`` (the seed holds 2025/26 only;
    later years are entered by an officer, as data)."""
    terms = await officer.get("/v1/calendar/terms")
    known = {t["academic_year"] for t in terms["items"]}
    first = min(int(label[:4]) for label in known)
    for year in range(first, until_year + 1):
        label = academic_year_label(year)
        if label in known:
            continue
        await officer.create("/v1/calendar/terms", {
            "academic_year": label,
            "terms": [{"name": name, "start": start.isoformat(), "end": end.isoformat()}
                      for name, start, end in term_dates(year)],
        })


async def timeline_types(auditor: Api, referral_id: str) -> list[str]:
    items = await auditor.all_pages(f"/v1/events/timelines/{referral_id}")
    return [item["type"] for item in items]


# ----------------------------------------------------------------------------- journey 1


async def test_child_referral_to_placement_and_freed_place_offered_to_next_child(
        gateway, admin: Api, token_factory) -> None:
    school = await sample_school(admin, 1)
    other_school = await sample_school(admin, 16)  # same zone (15 zones, round robin)
    assert other_school.zone_id == school.zone_id
    staff = Api(gateway, token_factory(Role.school_staff, school_urns=[school.urn],
                                       subject="e2e-school-a"))
    other_staff = Api(gateway, token_factory(Role.school_staff, school_urns=[other_school.urn],
                                             subject="e2e-school-b"))
    practitioner = Api(gateway, token_factory(Role.tas_practitioner, zones=[school.zone_code],
                                              subject=str(uuid.uuid4())))
    officer = Api(gateway, token_factory(Role.placements_officer, subject="e2e-officer"))
    auditor = Api(gateway, token_factory(Role.auditor, subject="e2e-auditor"))
    today = date.today()

    # A full provision: one APC place in the whole programme, so the second child waits.
    await ensure_placement_calendar(officer, academic_year_of(today) + 1)
    apcs = await officer.all_pages("/v1/provisions", {"provision_type": "apc"})
    assert apcs, "the placements seed holds the programme's APCs"
    # One zone, one id across services: each provision is in a zone of the referrals service.
    zones = {z["id"]: z["code"] for z in await admin.all_pages("/v1/zones")}
    assert {p["zone_id"] for p in apcs} <= set(zones)
    small, *others = sorted(apcs, key=lambda p: (p["opening_date"], p["name"]))
    for provision, capacity in [(p, 0) for p in others] + [(small, 1)]:
        path = f"/v1/provisions/{provision['id']}"
        _, tag = await officer.etag(path)
        updated, _ = await officer.change("PATCH", path, {"capacity": capacity}, if_match=tag)
        assert updated["capacity"] == capacity

    # Two children referred, accepted, and an APC place requested for each.
    first = await refer_and_accept(
        staff, practitioner, child_referral_body(school.urn, next(_serial)), "child")
    second = await refer_and_accept(
        other_staff, practitioner, child_referral_body(other_school.urn, next(_serial)), "child")
    agreed_on = (today - timedelta(days=1)).isoformat()  # the day before; any clock's past
    request = {"provision_type": "apc", "priority": "high",
               "parental_agreement": {"given_by": "parent", "agreed_on": agreed_on}}
    await _request_placement(practitioner, first["id"], request)
    await _wait_request_status(officer, first["id"], "offered")
    await _request_placement(practitioner, second["id"], {**request, "priority": "standard"})
    waiting = await _wait_request_status(officer, second["id"], "waiting")
    assert waiting["placement"] is None

    # The first child's offer: at the small APC, shown on the referral.
    offer = await _placement_of(officer, first["id"])
    assert offer["status"] == "offered"
    assert offer["provision_id"] == small["id"]
    assert offer["home_school_urn"] == school.urn
    shown = await _wait_shown_placement(staff, first["id"], "offered")
    assert shown["provision_id"] == small["id"]
    await _wait_shown_placement(other_staff, second["id"], "waitlisted")
    assert await _apc_figures(officer, offer["start_date"]) == {
        "capacity": 1, "held": 1, "free": 0, "waiting": 1}

    # The officer records the parents' agreement, starts and ends the placement.
    path = f"/v1/placements/{offer['id']}"
    accepted = await officer.transition(path, "accept", {"given_by": "parent",
                                                         "agreed_on": offer["offered_on"]})
    assert accepted["status"] == "accepted"
    assert accepted["agreement"]["given_by"] == "parent"
    started = await officer.transition(path, "start", {"started_on": offer["start_date"]})
    assert started["status"] == "active"
    ended = await officer.transition(path, "end", {"ended_on": started["started_on"],
                                                   "outcome": "returned_to_home_school"})
    assert ended["status"] == "ended"
    assert ended["outcome"] == "returned_to_home_school"

    # The freed place goes to the child who was waiting.
    freed = await _wait_request_status(officer, second["id"], "offered")
    assert freed["placement"]["provision_id"] == small["id"]
    assert freed["placement"]["status"] == "offered"
    assert await _apc_figures(officer, freed["placement"]["start_date"]) == {
        "capacity": 1, "held": 1, "free": 0, "waiting": 0}

    # Each referral shows its placement outcome, from the placements service's events.
    shown = await _wait_shown_placement(staff, first["id"], "ended")
    assert shown["end_reason"] == "returned_to_home_school"
    assert shown["provision_id"] == small["id"]
    shown = await _wait_shown_placement(other_staff, second["id"], "offered")
    assert shown["provision_id"] == small["id"]

    # The events service shows each journey as one timeline, in order.
    expected_first = [
        "lfi.referrals.referral.submitted.v1",
        "lfi.referrals.referral.triaged.v1",
        "lfi.referrals.referral.accepted.v1",
        "lfi.referrals.referral.placement_requested.v1",
        "lfi.placements.request.received.v1",
        "lfi.placements.placement.offered.v1",
        "lfi.placements.placement.accepted.v1",
        "lfi.placements.placement.started.v1",
        "lfi.placements.placement.ended.v1",
    ]
    expected_second = [
        "lfi.referrals.referral.submitted.v1",
        "lfi.referrals.referral.triaged.v1",
        "lfi.referrals.referral.accepted.v1",
        "lfi.referrals.referral.placement_requested.v1",
        "lfi.placements.request.received.v1",
        "lfi.placements.request.waitlisted.v1",
        "lfi.placements.placement.offered.v1",
    ]
    for referral, expected in ((first, expected_first), (second, expected_second)):
        async def complete(referral_id: str = referral["id"],
                           expected: list[str] = expected) -> list[str] | None:
            types = await timeline_types(auditor, referral_id)
            return types if len(types) >= len(expected) else None

        types = await eventually(complete, timeout=WAIT_S, what="the timeline")
        assert types == expected


async def _apc_figures(officer: Api, on: str) -> dict[str, int]:
    view = await officer.get("/v1/capacity", params={"on": on, "provision_type": "apc"})
    (apc,) = [t for t in view["by_type"] if t["provision_type"] == "apc"]
    return {k: apc[k] for k in ("capacity", "held", "free", "waiting")}


async def _request_placement(practitioner: Api, referral_id: str,
                             body: dict[str, Any]) -> Any:
    path = f"/v1/referrals/{referral_id}"
    _, tag = await practitioner.etag(path)
    response = await practitioner.http.post(
        f"{path}/placement-requests", json=body,
        headers={**practitioner.headers, "If-Match": tag})
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


async def _wait_request_status(officer: Api, referral_id: str, status: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        page = await officer.get("/v1/placements/requests", params={"referral_id": referral_id})
        items = page["items"]
        assert len(items) <= 1, items
        return items[0] if items and items[0]["status"] == status else None

    result: dict[str, Any] = await eventually(
        check, timeout=WAIT_S, what=f"placement request of {referral_id} {status}")
    return result


async def _placement_of(officer: Api, referral_id: str) -> dict[str, Any]:
    page = await officer.get("/v1/placements/requests", params={"referral_id": referral_id})
    request_id = page["items"][0]["id"]
    placements = await officer.get("/v1/placements", params={"request_id": request_id})
    assert len(placements["items"]) == 1, placements
    return placements["items"][0]  # type: ignore[no-any-return]


async def _wait_shown_placement(reader: Api, referral_id: str, status: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        referral = await reader.get(f"/v1/referrals/{referral_id}")
        shown = referral["shown"]["placement"]
        return shown if shown and shown["status"] == status else None

    result: dict[str, Any] = await eventually(
        check, timeout=WAIT_S, what=f"referral {referral_id} showing placement {status}")
    return result


# ----------------------------------------------------------------------------- journey 2


async def ensure_funding_year(finance: Api, fy: str) -> list[dict[str, Any]]:
    """An approved budget and term dates for financial year ``fy`` (the seed's years end at
    2025-26; later ones are entered by a funding officer, as data); returns its terms."""
    budget_path = f"/v1/funding/years/{fy}/budget"
    existing = await finance.get_response(budget_path)
    if existing.status_code == 404:
        await finance.create(budget_path, {"total": "35000000.00",
                                           "formula_block": "20000000.00"})
        existing = await finance.get_response(budget_path)
    if existing.json()["status"] != "approved":
        await finance.change("POST", f"{budget_path}/approve", {},
                             if_match=existing.headers["etag"])
    terms_path = f"/v1/funding/years/{fy}/terms"
    terms_response = await finance.get_response(terms_path)
    if terms_response.status_code == 404:
        first_year = int(fy[:4])
        expect(await finance.http.put(terms_path, headers=finance.headers, json={
            "academic_year": academic_year_label(first_year),
            "terms": [{"term": name, "starts_on": start.isoformat(),
                       "ends_on": end.isoformat(), "payment_on": start.isoformat()}
                      for name, start, end in term_dates(first_year)],
        }), 200)
        terms_response = await finance.get_response(terms_path)
    terms: list[dict[str, Any]] = terms_response.json()["terms"]
    return terms


async def test_cohort_referral_to_element3_award_and_payment_schedule(
        gateway, admin: Api, token_factory) -> None:
    school = await sample_school(admin, 4)
    staff = Api(gateway, token_factory(Role.school_staff, school_urns=[school.urn],
                                       subject="e2e-school-c"))
    practitioner = Api(gateway, token_factory(Role.tas_practitioner, zones=[school.zone_code],
                                              subject=str(uuid.uuid4())))
    finance = Api(gateway, token_factory(Role.funding_officer, subject="e2e-funding"))
    panel_member = Api(gateway, token_factory(Role.panel_member, subject="e2e-panel"))
    auditor = Api(gateway, token_factory(Role.auditor, subject="e2e-auditor"))
    # The school refers a cohort; TAS accepts and asks for an Element 3 review.
    cohort = cohort_referral_body(school.urn, "Year 7 pupils with SEMH needs after transition",
                                  support=("element3_review",))
    referral = await refer_and_accept(staff, practitioner, cohort, "cohort")
    path = f"/v1/referrals/{referral['id']}"
    _, tag = await practitioner.etag(path)
    response = await practitioner.http.post(
        f"{path}/element3-reviews",
        json={"amount_requested": "12000.00", "focus": "Nurture group and key adults",
              "needs_profile": {"SEMH": 12}},
        headers={**practitioner.headers, "If-Match": tag})
    assert response.status_code in (200, 201, 202), response.text

    # Funding opens an application for the school, from the referrals service's event.
    async def opened() -> dict[str, Any] | None:
        page = await finance.get("/v1/funding/applications", params={"school_urn": school.urn})
        mine = [a for a in page["items"] if a["referral_id"] == referral["id"]]
        return mine[0] if mine else None

    application = await eventually(opened, timeout=WAIT_S, what="the application opened")
    assert application["status"] == "draft"
    assert application["scope"] == "cohort"
    assert application["evidence"]["amount_requested"] == "12000.00"
    app_path = f"/v1/funding/applications/{application['id']}"
    fy = application["financial_year"]  # the year of the request, by the service's clock
    terms = await ensure_funding_year(finance, fy)

    # The school completes its evidence and submits; the panel meets and awards.
    _, tag = await staff.etag(app_path)
    await staff.change("PATCH", app_path, {"evidence": {
        "needs_profile": "12 pupils with SEMH needs", "provision_map_summary": "Provision map",
        "planned_approach": "Nurture group and key adults", "cohort_size": 12,
        "amount_requested": "12000.00"}}, if_match=tag)
    submitted = await staff.transition(app_path, "submit")
    assert submitted["status"] == "submitted"
    meeting_on = max(date.today(), date.fromisoformat(submitted["submitted_on"]))
    panel, panel_tag = await finance.create("/v1/funding/panels", {
        "meeting_on": meeting_on.isoformat(), "financial_year": fy})
    assert panel_tag is not None
    agenda, _ = await finance.change("POST", f"/v1/funding/panels/{panel['id']}/agenda",
                                     {"application_id": application["id"]}, if_match=panel_tag)
    assert [item["application_id"] for item in agenda["agenda"]] == [application["id"]]
    decided = await panel_member.transition(app_path, "decision", {
        "outcome": "approved", "amount": "12000.00", "reason": "Evidence meets the criteria."})
    assert decided["decision"]["outcome"] == "approved"
    assert decided["decision"]["amount_awarded"] == "12000.00"

    # The award is paid 4/12, 3/12, 5/12 over the terms that remain on the panel's date.
    schedule = await staff.get(f"{app_path}/payment-schedule")
    assert schedule["total"] == "12000.00"
    decided_on = date.fromisoformat(decided["decision"]["decided_on"])
    assert decided_on == meeting_on
    expected = expected_instalments(Decimal("12000.00"), terms, decided_on)
    assert [(i["term"], i["amount"]) for i in schedule["instalments"]] == expected
    assert sum(Decimal(i["amount"]) for i in schedule["instalments"]) == Decimal("12000.00")

    # The referral shows the funding outcome, from the funding service's events.
    async def shown() -> dict[str, Any] | None:
        current = await staff.get(path)
        funding = current["shown"]["funding"]
        return funding if funding and funding["status"] == "approved" else None

    outcome = await eventually(shown, timeout=WAIT_S, what="the referral showing the award")
    assert outcome["application_id"] == application["id"]
    assert outcome["amount_awarded"] == "12000.00"

    # The whole journey on one timeline, in order.
    expected_types = [
        "lfi.referrals.referral.submitted.v1",
        "lfi.referrals.referral.triaged.v1",
        "lfi.referrals.referral.accepted.v1",
        "lfi.referrals.referral.element3_review_requested.v1",
        "lfi.funding.application.submitted.v1",
        "lfi.funding.application.decided.v1",
        "lfi.funding.payments.scheduled.v1",
    ]

    async def complete() -> list[str] | None:
        types = await timeline_types(auditor, referral["id"])
        return types if len(types) >= len(expected_types) else None

    types = await eventually(complete, timeout=WAIT_S, what="the funding timeline")
    assert types == expected_types


PROFILE = {"autumn": Fraction(4, 12), "spring": Fraction(3, 12), "summer": Fraction(5, 12)}


def expected_instalments(amount: Decimal, terms: list[dict[str, Any]],
                         decided_on: date) -> list[tuple[str, str]]:
    """The funding README's rule: the profile over the terms not ended on the decision date
    (all of them: 4/12, 3/12, 5/12), shared pro rata; one term left: a single instalment."""
    remaining = [t["term"] for t in terms if date.fromisoformat(t["ends_on"]) >= decided_on]
    if len(remaining) <= 1:
        last = remaining[0] if remaining else terms[-1]["term"]
        return [(last, f"{amount:.2f}")]
    whole = sum(PROFILE[t] for t in remaining)
    return [(t, f"{amount * Decimal(PROFILE[t].numerator * whole.denominator) / Decimal(PROFILE[t].denominator * whole.numerator):.2f}")  # noqa: E501
            for t in remaining]
