"""The referral's lifecycle through the API: the whole walk, illegal transitions, If-Match."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from referrals_harness import (
    Env,
    Tokens,
    act,
    child_body,
    cohort_body,
    create,
    outbox_types,
    plan_body,
    walk_to,
)
from sqlalchemy import text

from lfi_referrals.domain.working_days import triage_due_date


async def test_child_referral_walks_the_whole_lifecycle(env: Env, tokens: Tokens) -> None:
    ref = await create(env, tokens.school_a, child_body())
    assert ref["status"] == "draft" and ref["version"] == 1
    assert ref["child"]["upn"] and ref["triage_due_on"] is None
    amended = child_body(concerns="Now also refusing to attend.")
    amended.pop("school_urn")
    r = await env.client.put(f"/v1/referrals/{ref['id']}", json=amended,
                             headers={**tokens.school_a, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    ref = r.json()
    assert ref["concerns"] == "Now also refusing to attend." and r.headers["ETag"] == '"2"'

    ref = await act(env, tokens.school_a, ref, "submit")
    assert ref["status"] == "submitted" and ref["triage_due_on"] and not ref["overdue"]
    ref = await act(env, tokens.practitioner_north, ref, "triage")
    assert ref["status"] == "triaged" and ref["triage"]["practitioner_id"]
    ref = await act(env, tokens.practitioner_north, ref, "accept", plan_body())
    assert ref["status"] == "accepted" and ref["support_plan"]["ep_hours"] == "6.50"
    ref = await act(env, tokens.practitioner_north, ref, "placement-requests",
                    {"provision_type": "eib", "priority": "at_risk_of_permanent_exclusion"},
                    expect=201)
    assert ref["shown"]["placement"]["status"] == "requested"
    assert ref["placement_requests"][0]["priority"] == "at_risk_of_permanent_exclusion"
    ref = await act(env, tokens.practitioner_north, ref, "start-support")
    assert ref["status"] == "in_support"
    ref = await act(env, tokens.practitioner_north, ref, "close", {"outcome": "placement_made"})
    assert ref["status"] == "closed" and ref["closure"]["code"] == "placement_made"
    assert ref["allowed_actions"] == ["anonymise"]

    assert await outbox_types(env, ref["id"]) == [
        "lfi.referrals.referral.submitted.v1", "lfi.referrals.referral.triaged.v1",
        "lfi.referrals.referral.accepted.v1", "lfi.referrals.referral.placement_requested.v1",
        "lfi.referrals.referral.support_started.v1", "lfi.referrals.referral.closed.v1"]


async def test_declined_and_withdrawn_referrals_end_there(env: Env, tokens: Tokens) -> None:
    declined = await walk_to(env, tokens, "declined")
    assert declined["status"] == "declined" and declined["decline"]["code"] == "referred_elsewhere"
    withdrawn = await walk_to(env, tokens, "withdrawn")
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawal"]["by"] == "school"


async def test_cohort_referral_requests_an_element3_review(env: Env, tokens: Tokens) -> None:
    ref = await walk_to(env, tokens, "accepted", cohort_body())
    assert ref["child"] is None and ref["cohort"]["pupil_count"] == 12
    ref = await act(env, tokens.practitioner_north, ref, "element3-reviews",
                    {"amount_requested": "12500.00", "focus": "Nurture groups",
                     "needs_profile": {"SEMH": 8, "SLCN": 4}}, expect=201)
    assert ref["shown"]["funding"]["status"] == "requested"
    assert ref["element3_reviews"][0]["amount_requested"] == "12500.00"
    again = await act(env, tokens.practitioner_north, ref, "element3-reviews", {}, expect=409)
    assert again["type"].endswith("referral-request-already-open")
    # A placement is for one child only.
    placement = await act(env, tokens.practitioner_north, ref, "placement-requests",
                          {"provision_type": "apc", "priority": "high"}, expect=422)
    assert placement["errors"][0]["code"] == "placement_for_child_only"


ACTIONS: dict[str, dict[str, Any] | None] = {
    "submit": None, "triage": None, "accept": plan_body(), "start-support": None,
    "close": {"outcome": "needs_met"}, "decline": {"reason": "duplicate"},
    "withdraw": {"reason": "duplicate"},
    "placement-requests": {"provision_type": "eib", "priority": "high"},
}
LEGAL: dict[str, set[str]] = {
    "draft": {"submit", "withdraw"},
    "submitted": {"triage", "decline", "withdraw"},
    "triaged": {"accept", "decline", "withdraw"},
    "accepted": {"start-support", "withdraw", "placement-requests"},
    "in_support": {"close", "placement-requests"},
    "closed": set(), "declined": set(), "withdrawn": set(),
}


@pytest.mark.parametrize("status", list(LEGAL))
async def test_every_illegal_transition_is_refused_and_changes_nothing(
        env: Env, tokens: Tokens, status: str) -> None:
    ref = await walk_to(env, tokens, status)
    before = await env.client.get(f"/v1/referrals/{ref['id']}", headers=tokens.admin)
    events_before = await outbox_types(env, ref["id"])
    for action, body in ACTIONS.items():
        if action in LEGAL[status]:
            continue
        problem = await act(env, tokens.admin, ref, action, body, expect=409)
        assert problem["type"].endswith("referral-transition-not-allowed"), action
        assert problem["current_status"] == status
    amend = child_body()
    amend.pop("school_urn")
    if status != "draft":
        r = await env.client.put(f"/v1/referrals/{ref['id']}", json=amend,
                                 headers={**tokens.admin, "If-Match": f'"{ref["version"]}"'})
        assert r.status_code == 409
    after = await env.client.get(f"/v1/referrals/{ref['id']}", headers=tokens.admin)
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.json()["status"] == status
    assert after.json()["version"] == before.json()["version"]
    assert await outbox_types(env, ref["id"]) == events_before


async def test_stale_or_missing_if_match_is_refused_and_changes_nothing(
        env: Env, tokens: Tokens) -> None:
    ref = await create(env, tokens.school_a, child_body())
    url = f"/v1/referrals/{ref['id']}/submit"
    missing = await env.client.post(url, headers=tokens.school_a)
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"
    stale = await env.client.post(url, headers={**tokens.school_a, "If-Match": '"7"'})
    assert stale.status_code == 412 and stale.json()["current_etag"] == '"1"'
    amend = child_body()
    amend.pop("school_urn")
    stale_put = await env.client.put(f"/v1/referrals/{ref['id']}", json=amend,
                                     headers={**tokens.school_a, "If-Match": '"0"'})
    assert stale_put.status_code == 412
    after = (await env.client.get(f"/v1/referrals/{ref['id']}", headers=tokens.school_a)).json()
    assert after["status"] == "draft" and after["version"] == 1
    assert await outbox_types(env, ref["id"]) == []


async def test_submission_needs_the_parents_agreement_for_a_place(env: Env,
                                                                  tokens: Tokens) -> None:
    body = child_body()
    body.pop("parental_agreement")
    ref = await create(env, tokens.school_a, body)
    problem = await act(env, tokens.school_a, ref, "submit", expect=422)
    assert [e["field"] for e in problem["errors"]] == ["body.parental_agreement"]


async def test_create_is_idempotent_with_a_key(env: Env, tokens: Tokens) -> None:
    body = child_body()
    headers = {**tokens.school_a, "Idempotency-Key": "same-key-1"}
    first = await env.client.post("/v1/referrals", json=body, headers=headers)
    second = await env.client.post("/v1/referrals", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    other = await env.client.post("/v1/referrals", json=child_body(), headers=headers)
    assert other.status_code == 422


async def test_list_filters_and_pages(env: Env, tokens: Tokens) -> None:
    cohort = await walk_to(env, tokens, "submitted", cohort_body(
        cohort={"description": "Year 5 group", "pupil_count": 6, "year_groups": ["5"],
                "primary_needs": ["ASD"]}))
    page = (await env.client.get("/v1/referrals", params={"need": "ASD", "year_group": "5"},
                                 headers=tokens.practitioner_north)).json()
    assert cohort["id"] in [i["id"] for i in page["items"]]
    assert all("child" not in i for i in page["items"])
    submitted = (await env.client.get("/v1/referrals", params={"status": "submitted",
                                                               "limit": 1},
                                      headers=tokens.admin)).json()
    assert len(submitted["items"]) == 1 and submitted["next_cursor"]
    nxt = (await env.client.get("/v1/referrals", params={
        "status": "submitted", "limit": 1, "cursor": submitted["next_cursor"]},
        headers=tokens.admin)).json()
    assert nxt["items"][0]["id"] != submitted["items"][0]["id"]
    by_zone = (await env.client.get("/v1/referrals", params={
        "zone_id": str(env.zones["kings-lynn"].id)}, headers=tokens.admin)).json()
    assert cohort["id"] not in [i["id"] for i in by_zone["items"]]


async def test_triage_is_due_in_working_days_and_overdue_referrals_are_listed_per_zone(
        env: Env, tokens: Tokens) -> None:
    ref = await walk_to(env, tokens, "submitted")
    policy = env.settings.referral_policy()
    submitted_on = policy.local_date(datetime.fromisoformat(ref["submitted_at"]))
    assert ref["triage_due_on"] == triage_due_date(
        submitted_on, env.settings.triage_working_days, policy.closure_dates).isoformat()
    zone = env.zones["north-norwich"]
    url = f"/v1/zones/{zone.id}/overdue-referrals"
    assert ref["id"] not in [i["id"] for i in (await env.client.get(
        url, headers=tokens.practitioner_north)).json()["items"]]
    # Time passes: the due date is now behind us.
    async with env.database.transaction() as session:
        await session.execute(text("UPDATE referrals.referrals SET triage_due_on = :d "
                                   "WHERE id = :id"),
                              {"d": date.today() - timedelta(days=3), "id": ref["id"]})
    overdue = (await env.client.get(url, headers=tokens.practitioner_north)).json()["items"]
    assert ref["id"] in [i["id"] for i in overdue] and all(i["overdue"] for i in overdue)
    listed = (await env.client.get("/v1/referrals", params={"overdue": "true"},
                                   headers=tokens.practitioner_north)).json()["items"]
    assert ref["id"] in [i["id"] for i in listed]
    elsewhere = (await env.client.get(url, headers=tokens.practitioner_lynn)).json()["items"]
    assert elsewhere == []
    triaged = await act(env, tokens.practitioner_north, ref, "triage")
    assert not triaged["overdue"]
    assert ref["id"] not in [i["id"] for i in (await env.client.get(
        url, headers=tokens.practitioner_north)).json()["items"]]
