"""Phoneline contacts: log a call, and turn it into a draft referral."""

from __future__ import annotations

from referrals_harness import Env, Tokens, child_body


async def test_phoneline_call_becomes_a_draft_referral(env: Env, tokens: Tokens) -> None:
    call = await env.client.post("/v1/contacts", json={
        "caller_type": "school_staff", "school_urn": "990005", "topic": "Year 8 exclusions",
        "advice_given": "Make a TAS referral.", "follow_up": "Call back in a week"},
        headers=tokens.admin)
    assert call.status_code == 201, call.text
    contact = call.json()
    assert contact["zone_id"] == str(env.zones["zone-05"].id)
    details = {k: v for k, v in child_body().items() if k != "school_urn"}
    r = await env.client.post(f"/v1/contacts/{contact['id']}/referral", json={"details": details},
                              headers={**tokens.admin, "If-Match": '"1"'})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft" and r.json()["school_urn"] == "990005"
    again = await env.client.post(f"/v1/contacts/{contact['id']}/referral",
                                  json={"details": details},
                                  headers={**tokens.admin, "If-Match": '"2"'})
    assert again.status_code == 409
    read = (await env.client.get(f"/v1/contacts/{contact['id']}",
                                 headers=tokens.admin)).json()
    assert read["referral_id"] == r.json()["id"]
    listed = (await env.client.get("/v1/contacts", params={"school_urn": "990005"},
                                   headers=tokens.admin)).json()["items"]
    assert [c["id"] for c in listed] == [contact["id"]]
    refused = await env.client.get("/v1/contacts", headers=tokens.school_a)
    assert refused.status_code == 403
    # A practitioner of another zone cannot turn a call about this school into a referral.
    other = await env.client.post("/v1/contacts", json={
        "caller_type": "parent_carer", "school_urn": "990005", "topic": "Transport"},
        headers=tokens.practitioner_north)
    outside = await env.client.post(f"/v1/contacts/{other.json()['id']}/referral",
                                    json={"details": details},
                                    headers={**tokens.practitioner_north, "If-Match": '"1"'})
    assert outside.status_code == 404
