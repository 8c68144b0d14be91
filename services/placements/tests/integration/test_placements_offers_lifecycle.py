"""The placement lifecycle through the API: offers, agreement, start, end; freed places go to
the next suitable waiting request by priority; If-Match; who sees what."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
from placements_harness import OTHER_ZONE, ZONE, Harness, HarnessFactory

from lfi_shared.auth import Role


async def _transition(h: Harness, placement_id: str, action: str,
                      body: dict[str, Any] | None = None) -> httpx.Response:
    current = await h.client.get(f"/v1/placements/{placement_id}", headers=h.headers())
    return await h.client.post(f"/v1/placements/{placement_id}/{action}", json=body,
                               headers={**h.headers(), "If-Match": current.headers["etag"]})


async def _request_status(h: Harness, request_id: str) -> dict[str, Any]:
    reply = await h.client.get(f"/v1/placements/requests/{request_id}", headers=h.headers())
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def test_ending_a_placement_offers_the_freed_place_to_the_highest_priority_suitable_request(
        harness: HarnessFactory) -> None:
    h = await harness(fixed_today=date(2025, 10, 1))
    await h.add_reference_data()
    await h.add_provision(capacity=1, year_groups=("9",))
    first = (await h.request(start=date(2025, 11, 3))).json()
    assert first["status"] == "offered"
    placement_id = first["placement"]["id"]

    standard_early = (await h.request(priority="standard")).json()
    unsuitable_urgent = (await h.request(priority="at_risk_of_permanent_exclusion",
                                         year_group="5")).json()
    urgent = (await h.request(priority="at_risk_of_permanent_exclusion")).json()
    high = (await h.request(priority="high")).json()
    assert {r["status"] for r in (standard_early, unsuitable_urgent, urgent, high)} == {"waiting"}

    accepted = await _transition(h, placement_id, "accept",
                                 {"given_by": "parent", "agreed_on": "2025-10-05"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["agreement"]["given_by"] == "parent"
    assert (await _transition(h, placement_id, "start",
                              {"started_on": "2025-11-03"})).json()["status"] == "active"
    ended = await _transition(h, placement_id, "end",
                              {"ended_on": "2025-11-20", "outcome": "returned_to_home_school"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended"

    offered = await _request_status(h, urgent["id"])
    assert offered["status"] == "offered"
    assert offered["placement"]["start_date"] == "2025-11-21"
    assert offered["placement"]["planned_end"] == "2025-12-19"
    for other in (standard_early, unsuitable_urgent, high):
        assert (await _request_status(h, other["id"]))["status"] == "waiting"

    # The parents decline: the place goes on to the next by priority (high before standard).
    declined = await _transition(h, offered["placement"]["id"], "decline")
    assert declined.json()["status"] == "declined"
    assert (await _request_status(h, urgent["id"]))["status"] == "cancelled"
    assert (await _request_status(h, high["id"]))["status"] == "offered"
    assert (await _request_status(h, standard_early["id"]))["status"] == "waiting"


async def test_an_expired_offer_frees_its_place_for_the_next_request(
        harness: HarnessFactory) -> None:
    h = await harness(fixed_today=date(2025, 10, 1))
    await h.add_reference_data()
    await h.add_provision(capacity=1)
    first = (await h.request()).json()
    second = (await h.request()).json()
    assert (first["status"], second["status"]) == ("offered", "waiting")

    still_open = await _transition(h, first["placement"]["id"], "expire")
    assert still_open.status_code == 409
    assert still_open.json()["type"].endswith("/offer-still-open")

    conn = await h.raw()
    try:  # the offer's date passes
        await conn.execute("UPDATE placements.placements SET offered_on = '2025-09-10', "
                           "offer_expires_on = '2025-09-24'")
    finally:
        await conn.close()
    swept = await h.client.post("/v1/placements/offers/expire-due", headers=h.headers())
    assert swept.status_code == 200
    assert swept.json()["expired"] == [first["placement"]["id"]]
    assert (await _request_status(h, second["id"]))["status"] == "offered"
    # The expired request waits again, with its original time of request.
    assert (await _request_status(h, first["id"]))["status"] == "waiting"


async def test_transitions_need_the_current_etag(harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    await h.add_provision(capacity=1)
    placement = (await h.request()).json()["placement"]
    url = f"/v1/placements/{placement['id']}/accept"
    body = {"given_by": "carer", "agreed_on": "2025-10-02"}
    missing = await h.client.post(url, json=body, headers=h.headers())
    assert missing.status_code == 428
    stale = await h.client.post(url, json=body, headers={**h.headers(), "If-Match": '"99"'})
    assert stale.status_code == 412
    ok = await h.client.post(url, json=body, headers={**h.headers(), "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    again = await h.client.post(url, json=body, headers={**h.headers(), "If-Match": '"2"'})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/illegal-transition")


async def test_capacity_below_places_held_is_refused_and_more_capacity_offers_places(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=2)
    replies = [(await h.request()).json() for _ in range(3)]
    assert [r["status"] for r in replies] == ["offered", "offered", "waiting"]
    url = f"/v1/provisions/{provision_id}"
    etag = (await h.client.get(url, headers=h.headers())).headers["etag"]
    lower = await h.client.patch(url, json={"capacity": 1},
                                 headers={**h.headers(), "If-Match": etag})
    assert lower.status_code == 409
    assert lower.json()["type"].endswith("/capacity-below-places-held")
    assert lower.json()["places_held"] == 2
    higher = await h.client.patch(url, json={"capacity": 3},
                                  headers={**h.headers(), "If-Match": etag})
    assert higher.status_code == 200 and higher.json()["capacity"] == 3
    assert (await _request_status(h, replies[2]["id"]))["status"] == "offered"


async def test_schools_see_only_their_own_pupils_and_practitioners_their_zones(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    await h.add_provision(capacity=5)
    ours = (await h.request(urn="121234", zone_id=ZONE)).json()
    theirs = (await h.request(urn="654321", zone_id=OTHER_ZONE)).json()

    school = h.headers(Role.school_staff, school_urns=["121234"])
    own = await h.client.get(f"/v1/placements/{ours['placement']['id']}", headers=school)
    assert own.status_code == 200
    other = await h.client.get(f"/v1/placements/{theirs['placement']['id']}", headers=school)
    assert other.status_code == 404
    listed = (await h.client.get("/v1/placements", headers=school)).json()["items"]
    assert [p["id"] for p in listed] == [ours["placement"]["id"]]
    hidden = await h.client.get(f"/v1/placements/requests/{theirs['id']}", headers=school)
    assert hidden.status_code == 404

    practitioner = h.headers(Role.tas_practitioner, zones=[str(OTHER_ZONE)])
    seen = (await h.client.get("/v1/placements", headers=practitioner)).json()["items"]
    assert [p["id"] for p in seen] == [theirs["placement"]["id"]]
    not_theirs = await h.client.get(f"/v1/placements/{ours['placement']['id']}",
                                    headers=practitioner)
    assert not_theirs.status_code == 404

    # Only officers manage.
    refused = await h.client.post(
        f"/v1/placements/{ours['placement']['id']}/withdraw",
        headers={**school, "If-Match": '"1"'})
    assert refused.status_code == 403
    funding = h.headers(Role.funding_officer)
    assert (await h.client.get("/v1/placements", headers=funding)).status_code == 403


async def test_request_is_idempotent_and_bad_input_is_a_problem(harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    await h.add_provision(capacity=5)
    body = {"child_id": str(uuid.uuid4()), "home_school_urn": "121234", "year_group": "9",
            "provision_type": "eib", "priority": "high", "requested_start": "2025-11-03"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await h.client.post("/v1/placements/requests", json=body,
                                headers={**h.headers(), **key})
    again = await h.client.post("/v1/placements/requests", json=body,
                                headers={**h.headers(), **key})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    listed = (await h.client.get("/v1/placements/requests", headers=h.headers())).json()
    assert len(listed["items"]) == 1

    bad = await h.client.post("/v1/placements/requests", headers=h.headers(), json={
        **body, "home_school_urn": "12", "year_group": "15", "priority": "urgent"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {
        "body.home_school_urn", "body.year_group", "body.priority"}
