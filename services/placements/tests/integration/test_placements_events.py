"""Placement requests arrive as ``referral.placement_requested`` events through real NATS
JetStream: delivered twice (or re-sent under another event id), they make one request; what
follows is published from the outbox."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import nats
from placements_harness import ZONE, HarnessFactory

from lfi_contracts.referrals import ReferralPlacementRequested, ZoneCreated
from lfi_shared.messaging import EventContract, ensure_stream, new_envelope


async def test_placement_requested_delivered_twice_through_nats_makes_one_request(
        harness: HarnessFactory, nats_url: str) -> None:
    h = await harness(fixed_today=date(2025, 10, 1), relay_poll_interval_s=0.2)
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=2)
    referral_id, request_id = uuid.uuid4(), uuid.uuid4()
    event = ReferralPlacementRequested(
        referral_id=referral_id, request_id=request_id, child_id=uuid.uuid4(),
        home_school_urn="121234", zone_id=ZONE, year_group="9", needs=["SEMH"],
        provision_type="eib", priority="at_risk_of_permanent_exclusion",
        requested_start=date(2025, 11, 3), requested_at=datetime.now(UTC))

    def envelope(data: EventContract) -> bytes:
        return new_envelope(event_type=data.event_type, source="/lfi/referrals",
                            subject=str(referral_id), data=data.model_dump(mode="json"),
                            correlation_id=str(referral_id)).to_bytes()

    once = envelope(event)
    resent = envelope(event)  # the same request under another event id
    zone = envelope(ZoneCreated(zone_id=ZONE, code="north-norwich", name="North Norwich"))
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, h.settings, "referrals")
        subject = h.settings.subject_for(event.event_type)
        # Two deliveries of one event (no Nats-Msg-Id, so JetStream keeps both), and a resend.
        for body in (once, once, resent):
            await js.publish(subject, body)
        await js.publish(h.settings.subject_for(ZoneCreated.event_type), zone)

        consumer = h.app.state.runtime.extras["consumers"][0]
        for _ in range(150):
            stats = consumer.stats
            if stats.processed + stats.duplicates >= 4:
                break
            await asyncio.sleep(0.1)
        assert (consumer.stats.processed, consumer.stats.duplicates) == (3, 1)

        listed = (await h.client.get("/v1/placements/requests",
                                     params={"referral_id": str(referral_id)},
                                     headers=h.headers())).json()["items"]
        assert len(listed) == 1
        assert listed[0]["id"] == str(request_id)
        assert listed[0]["status"] == "offered"
        assert listed[0]["placement"]["provision_id"] == str(provision_id)

        # The offer went out through the outbox relay, on the journey's correlation id.
        sub = await js.subscribe(h.settings.subject_for("lfi.placements.>"), ordered_consumer=True)
        seen: dict[str, dict[str, Any]] = {}
        try:
            while "lfi.placements.placement.offered.v1" not in seen:
                published = json.loads((await sub.next_msg(timeout=10)).data)
                if published["data"].get("request_id") == str(request_id):
                    seen[published["type"]] = published
        finally:
            await sub.unsubscribe()
        offered = seen["lfi.placements.placement.offered.v1"]
        assert offered["correlationid"] == str(referral_id)
        assert offered["data"]["referral_id"] == str(referral_id)
        assert "lfi.placements.request.received.v1" in seen
        # The zone's read model arrived too.
        view = (await h.client.get("/v1/capacity", params={"on": "2025-11-03"},
                                   headers=h.headers())).json()
        assert view["by_zone"][0]["zone_code"] == "north-norwich"
    finally:
        await nc.close()


async def test_each_waitlisted_event_gives_the_requests_place_on_the_waiting_list(
        harness: HarnessFactory) -> None:
    """Counted when the request is waitlisted: the waiting requests of its type ahead of it
    (priority first, then time of request), plus one."""
    h = await harness()
    await h.add_reference_data()
    await h.add_provision(capacity=0)
    for priority in ("standard", "high", "standard", "at_risk_of_permanent_exclusion"):
        reply = await h.request(priority=priority)
        assert reply.json()["status"] == "waiting", reply.text
    conn = await h.raw()
    try:
        payloads = await conn.fetch(
            "SELECT payload FROM placements.outbox WHERE event_type = $1 ORDER BY seq",
            "lfi.placements.request.waitlisted.v1")
    finally:
        await conn.close()
    positions = [json.loads(p["payload"])["data"]["position"] for p in payloads]
    assert positions == [1, 1, 3, 1]
