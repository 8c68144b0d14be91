"""Object-level access: a school sees only its own referrals (404 otherwise, on every operation
that takes the id); practitioners act only in their zones; every read is in the access log."""

from __future__ import annotations

from typing import Any

import pytest
from referrals_harness import SCHOOL_B, Env, Tokens, act, child_body, create, plan_body, walk_to

IF_MATCH = {"If-Match": '"1"'}

# Every operation that takes a referral's id: (method, path suffix, body).
OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("PUT", "", {k: v for k, v in child_body().items() if k != "school_urn"}),
    ("POST", "/submit", None),
    ("POST", "/triage", None),
    ("POST", "/accept", plan_body()),
    ("POST", "/start-support", None),
    ("POST", "/close", {"outcome": "needs_met"}),
    ("POST", "/decline", {"reason": "duplicate"}),
    ("POST", "/withdraw", {"reason": "duplicate"}),
    ("POST", "/assignment", {"practitioner_id": "00000000-0000-4000-8000-000000000001"}),
    ("POST", "/placement-requests", {"provision_type": "eib", "priority": "high"}),
    ("POST", "/element3-reviews", {}),
    ("POST", "/notes", {"body": "A note"}),
    ("GET", "/notes", None),
    ("GET", "/export", None),
]


async def call(env: Env, headers: dict[str, str], method: str, url: str,
               body: dict[str, Any] | None) -> int:
    r = await env.client.request(method, url, json=body, headers={**headers, **IF_MATCH})
    return r.status_code


async def test_school_user_gets_404_for_another_schools_referral_on_every_operation(
        env: Env, tokens: Tokens) -> None:
    ref = await create(env, tokens.school_a, child_body())
    for method, suffix, body in OPERATIONS:
        r = await env.client.request(method, f"/v1/referrals/{ref['id']}{suffix}", json=body,
                                     headers={**tokens.school_b, **IF_MATCH})
        assert r.status_code == 404, (method, suffix, r.text)
        assert r.json()["detail"] == "No referral with this id."
    unchanged = (await env.client.get(f"/v1/referrals/{ref['id']}",
                                      headers=tokens.school_a)).json()
    assert unchanged["version"] == 1 and unchanged["status"] == "draft"
    listed = (await env.client.get("/v1/referrals", headers=tokens.school_b)).json()
    assert ref["id"] not in [i["id"] for i in listed["items"]]


async def test_school_user_cannot_refer_for_another_school(env: Env, tokens: Tokens) -> None:
    r = await env.client.post("/v1/referrals", json=child_body(SCHOOL_B), headers=tokens.school_a)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "school_not_yours"


async def test_practitioner_cannot_act_outside_their_zones(env: Env, tokens: Tokens) -> None:
    ref = await walk_to(env, tokens, "submitted")  # school A, north-norwich
    for method, suffix, body in OPERATIONS:
        status = await call(env, tokens.practitioner_lynn, method,
                            f"/v1/referrals/{ref['id']}{suffix}", body)
        assert status == 404, (method, suffix)
    # In their own zone, the practitioner may triage it.
    triaged = await act(env, tokens.practitioner_north, ref, "triage")
    assert triaged["status"] == "triaged"


async def test_roles_that_may_not_take_an_action_are_refused(env: Env, tokens: Tokens) -> None:
    ref = await walk_to(env, tokens, "submitted")
    assert (await call(env, tokens.school_a, "POST", f"/v1/referrals/{ref['id']}/triage",
                       None)) == 403
    assert (await call(env, tokens.auditor, "GET", f"/v1/referrals/{ref['id']}", None)) == 403
    assert (await call(env, tokens.placements_officer, "POST",
                       f"/v1/referrals/{ref['id']}/withdraw", {"reason": "duplicate"})) == 403
    r = await env.client.get("/v1/access-log", headers=tokens.school_a)
    assert r.status_code == 403


@pytest.mark.parametrize("purpose", [None, "safeguarding review"])
async def test_every_read_of_a_childs_record_is_in_the_access_log(
        env: Env, tokens: Tokens, purpose: str | None) -> None:
    ref = await create(env, tokens.school_a, child_body())
    extra = {"X-Purpose": purpose} if purpose else {}
    reads = [
        (tokens.school_a, f"/v1/referrals/{ref['id']}", "read_referral"),
        (tokens.practitioner_north, f"/v1/referrals/{ref['id']}", "read_referral"),
        (tokens.placements_officer, f"/v1/referrals/{ref['id']}", "read_referral"),
        (tokens.school_a, f"/v1/referrals/{ref['id']}/notes", "list_case_notes"),
        (tokens.admin, f"/v1/referrals/{ref['id']}/export", "export_referral"),
    ]
    for headers, url, _ in reads:
        r = await env.client.get(url, headers={**headers, **extra})
        assert r.status_code == 200, r.text
    log = (await env.client.get("/v1/access-log", params={"referral_id": ref["id"]},
                                headers=tokens.auditor)).json()["items"]
    logged = [(e["actor"], e["operation"]) for e in log if e["action"] in ("read", "export")]
    assert sorted(logged) == sorted([
        ("staff-a", "read_referral"), ("tas-north", "read_referral"),
        ("officer", "read_referral"), ("staff-a", "list_case_notes"),
        ("admin", "export_referral")])
    for entry in log:
        assert entry["child_id"] == ref["child"]["child_id"]
        assert entry["roles"] and entry["at"]
    reads_only = [e for e in log if e["action"] == "read"]
    if purpose:
        assert {e["purpose"] for e in reads_only} == {purpose}
    else:
        assert {e["purpose"] for e in reads_only} == {"case work"}
    by_child = (await env.client.get("/v1/access-log",
                                     params={"child_id": ref["child"]["child_id"]},
                                     headers=tokens.auditor)).json()["items"]
    assert len(by_child) >= len(log)


async def test_export_holds_the_referral_its_notes_and_its_access_log(
        env: Env, tokens: Tokens) -> None:
    ref = await create(env, tokens.school_a, child_body())
    note = await env.client.post(f"/v1/referrals/{ref['id']}/notes",
                                 json={"body": "Spoke to the SENCo."}, headers=tokens.school_a)
    assert note.status_code == 201
    export = (await env.client.get(f"/v1/referrals/{ref['id']}/export",
                                   headers=tokens.school_a)).json()
    assert export["referral"]["child"]["upn"] == ref["child"]["upn"]
    assert [n["body"] for n in export["case_notes"]] == ["Spoke to the SENCo."]
    assert {e["operation"] for e in export["access_log"]} >= {"create_referral",
                                                              "add_case_note"}
    sar = await env.client.post("/v1/referrals/subject-access",
                                json={"upn": ref["child"]["upn"]}, headers=tokens.admin)
    assert sar.status_code == 200, sar.text
    assert [r["referral"]["id"] for r in sar.json()["referrals"]] == [ref["id"]]
    refused = await env.client.post("/v1/referrals/subject-access",
                                    json={"upn": ref["child"]["upn"]}, headers=tokens.school_a)
    assert refused.status_code == 403


async def test_a_second_referral_of_the_same_child_keeps_its_child_id(
        env: Env, tokens: Tokens) -> None:
    first = await create(env, tokens.school_a, child_body())
    again = child_body(child={"upn": first["child"]["upn"]})
    second = await create(env, tokens.school_a, again)
    assert second["child"]["child_id"] == first["child"]["child_id"]
