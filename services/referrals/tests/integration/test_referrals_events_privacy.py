"""Events carry no personal data, and the identifiers are validated at the API."""

from __future__ import annotations

import asyncio
import json

import nats
from referrals_harness import (
    Env,
    Tokens,
    act,
    child_body,
    create,
    new_upn,
    plan_body,
)
from sqlalchemy import text

from lfi_referrals.domain.identifiers import upn_check_letter


async def test_no_event_of_a_full_lifecycle_carries_name_date_of_birth_or_upn(
        env: Env, tokens: Tokens) -> None:
    given, family, born = "Marigold", "Featherstonehaugh", "2013-02-28"
    upn = new_upn(temporary=True)
    body = child_body(child={"given_name": given, "family_name": family,
                             "date_of_birth": born, "upn": upn})
    ref = await create(env, tokens.school_a, body)
    ref = await act(env, tokens.school_a, ref, "submit")
    ref = await act(env, tokens.practitioner_north, ref, "triage")
    ref = await act(env, tokens.practitioner_north, ref, "accept", plan_body())
    ref = await act(env, tokens.practitioner_north, ref, "placement-requests",
                    {"provision_type": "apc", "priority": "high"}, expect=201)
    ref = await act(env, tokens.practitioner_north, ref, "start-support")
    ref = await act(env, tokens.practitioner_north, ref, "close", {"outcome": "needs_met"})
    second = await create(env, tokens.school_a, child_body(child={"upn": upn}))
    await act(env, tokens.school_a, second, "withdraw", {"reason": "duplicate"})

    async with env.database.transaction() as session:
        rows = (await session.execute(text(
            "SELECT event_type, payload FROM referrals.outbox "
            "WHERE payload->>'correlationid' IN (:a, :b) ORDER BY seq"),
            {"a": ref["id"], "b": second["id"]})).all()
    types = [r[0] for r in rows]
    assert types == [
        "lfi.referrals.referral.submitted.v1", "lfi.referrals.referral.triaged.v1",
        "lfi.referrals.referral.accepted.v1", "lfi.referrals.referral.placement_requested.v1",
        "lfi.referrals.referral.support_started.v1", "lfi.referrals.referral.closed.v1",
        "lfi.referrals.referral.withdrawn.v1"]
    placement = next(r[1] for r in rows if r[0].endswith("placement_requested.v1"))
    assert placement["data"]["child_id"] == ref["child"]["child_id"]
    assert placement["data"]["year_group"] == "8" and placement["data"]["needs"] == ["SEMH"]

    # What the relay published to NATS, too.
    published = await _published(env, {ref["id"], second["id"]}, expected=len(rows))
    forbidden = [given, family, upn, born, born.replace("-", ""), "28/02/2013",
                 given.lower(), family.lower(), upn.lower()]
    for serialized in [json.dumps(r[1]) for r in rows] + published:
        for value in forbidden:
            assert value not in serialized, value
    # The school's free text stays out of events as well.
    for serialized in published:
        assert "suspension" not in serialized and "Weekly EP" not in serialized


async def _published(env: Env, correlation_ids: set[str], expected: int) -> list[str]:
    nc = await nats.connect(env.settings.nats_url)
    try:
        js = nc.jetstream()
        stream = env.settings.stream_name("referrals")
        found: list[str] = []
        for _ in range(50):
            sub = await js.subscribe(env.settings.subject_for("lfi.referrals.referral.>"),
                                     stream=stream, ordered_consumer=True)
            found = []
            try:
                while True:
                    msg = await sub.next_msg(timeout=0.5)
                    body = msg.data.decode()
                    if json.loads(body).get("correlationid") in correlation_ids:
                        found.append(body)
            except (TimeoutError, nats.errors.TimeoutError):
                pass
            finally:
                await sub.unsubscribe()
            if len(found) >= expected:
                return found
            await asyncio.sleep(0.2)
        raise AssertionError(f"published {len(found)} of {expected} events")
    finally:
        await nc.close()


async def test_upns_are_checked_at_the_api(env: Env, tokens: Tokens) -> None:
    valid = new_upn()
    temporary = new_upn(temporary=True)
    wrong_letter = ("A" if valid[0] != "A" else "B") + valid[1:]
    for upn in (valid, temporary, "B801200005001"):
        r = await env.client.post("/v1/referrals", json=child_body(child={"upn": upn}),
                                  headers=tokens.school_a)
        assert r.status_code == 201, (upn, r.text)
    assert upn_check_letter(temporary[1:]) == temporary[0] and temporary[-1].isalpha()
    cases = {wrong_letter: "upn_check_letter", valid[:-1]: "upn_length",
             "I" + valid[1:]: "upn_forbidden_letter", valid[:5] + "X" + valid[6:]:
             "upn_characters"}
    for upn, code in cases.items():
        r = await env.client.post("/v1/referrals", json=child_body(child={"upn": upn}),
                                  headers=tokens.school_a)
        assert r.status_code == 422, upn
        problem = r.json()
        assert problem["errors"][0]["field"] == "body.child.upn"
        assert problem["errors"][0]["code"] == code
        assert upn not in r.text  # never echoed


async def test_urns_are_checked_at_the_api(env: Env, tokens: Tokens) -> None:
    for urn, code in (("12345", "urn_format"), ("12345a", "urn_format"),
                      ("123456", "unknown_school")):
        r = await env.client.post("/v1/referrals", json=child_body(urn),
                                  headers=tokens.school_a)
        assert r.status_code == 422
        assert r.json()["errors"][0] == {**r.json()["errors"][0], "field": "body.school_urn",
                                         "code": code}
    assert (await env.client.get("/v1/schools/990001", headers=tokens.school_a)).json()[
        "laestab"] == "9262001"
