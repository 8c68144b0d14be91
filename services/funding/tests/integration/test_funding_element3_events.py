"""Events from the referrals service through the real NATS JetStream: an Element 3 review
request opens one application however often it is delivered; school events feed the read
model."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import nats
from conftest import FundingHarness, new_urn

from lfi_contracts.referrals import ReferralElement3ReviewRequested, SchoolRegistered
from lfi_shared.messaging import EventContract, new_envelope
from lfi_shared.messaging.consumer import ConsumerRunner


async def publish(funding: FundingHarness, event: EventContract, subject: str, *,
                  times: int = 1, event_id: uuid.UUID | None = None) -> None:
    """Publish one envelope ``times`` times, with no Nats-Msg-Id, so JetStream keeps every copy
    (as after a producer's retry past the duplicate window)."""
    envelope = new_envelope(event_type=event.event_type, source="/lfi/referrals",
                            subject=subject, data=event.model_dump(mode="json"),
                            event_id=event_id)
    nc = await nats.connect(funding.settings.nats_url)
    try:
        js = nc.jetstream()
        for _ in range(times):
            await js.publish(funding.settings.subject_for(event.event_type), envelope.to_bytes())
    finally:
        await nc.close()


def consumer(funding: FundingHarness) -> ConsumerRunner:
    runners: list[ConsumerRunner] = funding.app.state.runtime.extras["consumers"]
    return next(r for r in runners if r.name == funding.settings.referrals_consumer)


async def eventually(check: Callable[[], Awaitable[Any]], timeout_s: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def applications_of(funding: FundingHarness, urn: str) -> list[dict[str, Any]]:
    r = await funding.client.get("/v1/funding/applications", params={"school_urn": urn},
                                 headers=funding.officer)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_review_request_delivered_twice_opens_one_application(
        funding: FundingHarness) -> None:
    urn, referral_id = new_urn(), uuid.uuid4()
    await publish(funding, SchoolRegistered(urn=urn, name="Wensum Primary"), urn)
    event = ReferralElement3ReviewRequested(
        referral_id=referral_id, request_id=uuid.uuid4(), school_urn=urn,
        subject_kind="cohort", cohort_size=8, year_groups=["7", "8"],
        needs_profile={"SEMH": 5, "ASD": 3}, focus="Nurture group for Year 7 and 8",
        amount_requested="12500.00", requested_at=datetime(2025, 11, 20, 9, 0, tzinfo=UTC))
    duplicates_before = consumer(funding).stats.duplicates
    await publish(funding, event, str(referral_id), times=2)

    opened = await eventually(lambda: applications_of(funding, urn))
    assert len(opened) == 1
    # Wait until the second copy has reached the consumer too (and was recognised).
    async def second_copy_seen() -> bool:
        return consumer(funding).stats.duplicates > duplicates_before
    assert await eventually(second_copy_seen)
    applications = await applications_of(funding, urn)
    assert len(applications) == 1
    application = applications[0]
    assert application["status"] == "draft" and application["referral_id"] == str(referral_id)
    assert application["financial_year"] == "2025-26" and application["scope"] == "cohort"
    assert application["evidence"]["amount_requested"] == "12500.00"
    assert application["evidence"]["cohort_size"] == 8
    assert application["evidence"]["needs_profile"] == "ASD: 3; SEMH: 5; year groups 7, 8"
    read = await funding.client.get(f"/v1/funding/applications/{application['id']}",
                                    headers=funding.school(urn))
    assert read.status_code == 200 and read.json()["school_name"] == "Wensum Primary"


async def test_the_same_request_resent_as_a_new_event_opens_nothing_more(
        funding: FundingHarness) -> None:
    urn, request_id = new_urn(), uuid.uuid4()
    event = ReferralElement3ReviewRequested(
        referral_id=uuid.uuid4(), request_id=request_id, school_urn=urn,
        subject_kind="whole_school", requested_at=datetime(2025, 11, 21, tzinfo=UTC))
    processed_before = consumer(funding).stats.processed
    await publish(funding, event, urn)
    await publish(funding, event, urn)  # a new event id each time

    async def both_processed() -> bool:
        return consumer(funding).stats.processed >= processed_before + 2
    assert await eventually(both_processed)
    assert len(await applications_of(funding, urn)) == 1
