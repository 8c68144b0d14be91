"""The journey timeline: one referral's events from all three services, in order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from events_testkit import EventsHarness, eventually, example_contract, raw_envelope

from lfi_contracts.funding import ApplicationDecided, ApplicationSubmitted
from lfi_contracts.placements import PlacementOffered, PlacementStarted
from lfi_contracts.referrals import ReferralAccepted, ReferralPlacementRequested, ReferralSubmitted


async def test_a_referrals_timeline_shows_its_events_from_all_three_services_in_order(
        events: EventsHarness) -> None:
    referral = str(uuid.uuid4())
    other = str(uuid.uuid4())
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    # (contract, subject, correlation id, data overrides): referral events have the referral
    # as subject; placement and funding events carry data.referral_id; the last placement
    # event is found by its correlation id only.
    journey = [
        (ReferralSubmitted, referral, referral, {"referral_id": referral}),
        (ReferralAccepted, referral, referral, {"referral_id": referral}),
        (ReferralPlacementRequested, referral, referral, {"referral_id": referral}),
        (PlacementOffered, str(uuid.uuid4()), referral, {"referral_id": referral}),
        (ApplicationSubmitted, str(uuid.uuid4()), str(uuid.uuid4()), {"referral_id": referral}),
        (ApplicationDecided, str(uuid.uuid4()), referral, {"referral_id": referral}),
        (PlacementStarted, str(uuid.uuid4()), referral, {"referral_id": None}),
    ]
    envelopes = []
    # Published out of order (the funding events first): the timeline orders by event time.
    for index in (4, 5, 0, 1, 2, 3, 6):
        contract, subject, correlation, overrides = journey[index]
        data = example_contract(contract, **overrides).model_dump(mode="json")
        envelope = raw_envelope(contract.event_type, data, subject=subject,
                                correlation_id=correlation)
        envelope = envelope.model_copy(update={"time": start + timedelta(hours=index)})
        await events.publish_raw(envelope)
        envelopes.append((index, envelope))
    stranger = raw_envelope(ReferralSubmitted.event_type,
                            example_contract(ReferralSubmitted, referral_id=other)
                            .model_dump(mode="json"), subject=other, correlation_id=other)
    await events.publish_raw(stranger)

    async def complete() -> dict | None:
        response = await events.client.get(f"/v1/events/timelines/{referral}",
                                           headers=events.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return body if len(body["items"]) >= len(journey) else None

    body = await eventually(complete)
    by_index = dict(envelopes)
    assert [item["id"] for item in body["items"]] == [by_index[i].id for i in range(len(journey))]
    assert {item["source"] for item in body["items"]} == {
        "/lfi/referrals", "/lfi/placements", "/lfi/funding"}
    assert stranger.id not in {item["id"] for item in body["items"]}
    unknown = await events.client.get(f"/v1/events/timelines/{uuid.uuid4()}",
                                      headers=events.headers)
    assert unknown.status_code == 200 and unknown.json()["items"] == []
    bad = await events.client.get("/v1/events/timelines/not-a-uuid", headers=events.headers)
    assert bad.status_code == 422
