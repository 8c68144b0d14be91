"""Placement and funding outcome events, delivered through the real NATS (and delivered again),
change what the referral shows once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from referrals_harness import (
    Env,
    Tokens,
    act,
    cohort_body,
    nats_publish,
    walk_to,
)

from lfi_contracts import funding, placements
from lfi_shared.messaging import EventContract
from lfi_shared.messaging.envelope import new_envelope


def envelope_bytes(contract: EventContract, *, source: str, subject: str,
                   event_id: uuid.UUID | None = None) -> tuple[str, bytes]:
    envelope = new_envelope(event_type=contract.event_type, source=source, subject=subject,
                            data=contract.model_dump(mode="json"), event_id=event_id)
    return envelope.id, envelope.to_bytes()


async def deliver(env: Env, contract: EventContract, *, source: str, times: int = 2) -> None:
    """Publish one event ``times`` times with the same event id (each a new NATS message, as a
    producer's relay retrying after a crash would make it)."""
    event_id, body = envelope_bytes(contract, source=source, subject=str(uuid.uuid4()))
    for attempt in range(times):
        await nats_publish(env.settings, contract.event_type, body,
                           msg_id=f"{event_id}-{attempt}")


def duplicates(env: Env) -> int:
    """Deliveries the consumers recognised (by event id, in their inbox) as already applied."""
    return sum(c.stats.duplicates for c in env.app.state.runtime.extras["consumers"])


async def shown(env: Env, tokens: Tokens, referral_id: str) -> dict[str, Any]:
    r = await env.client.get(f"/v1/referrals/{referral_id}", headers=tokens.admin)
    return r.json()


async def wait_for(env: Env, tokens: Tokens, referral_id: str, check: Any) -> dict[str, Any]:
    for _ in range(100):
        ref = await shown(env, tokens, referral_id)
        if check(ref):
            return ref
        await asyncio.sleep(0.1)
    raise AssertionError(f"not shown: {ref['shown']}")


async def test_placement_outcomes_are_shown_once_however_often_delivered(
        env: Env, tokens: Tokens) -> None:
    duplicates_before = duplicates(env)
    ref = await walk_to(env, tokens, "accepted")
    ref = await act(env, tokens.practitioner_north, ref, "placement-requests",
                    {"provision_type": "eib", "priority": "high"}, expect=201)
    request_id = uuid.UUID(ref["placement_requests"][0]["request_id"])
    base = dict(placement_id=uuid.uuid4(), request_id=request_id,
                referral_id=uuid.UUID(ref["id"]), child_id=uuid.UUID(ref["child"]["child_id"]),
                provision_id=uuid.uuid4(), provision_type="eib", home_school_urn="990001")
    start = date.today() + timedelta(days=14)
    await deliver(env, placements.PlacementOffered(
        **base, start_on=start, planned_end_on=start + timedelta(days=80),
        offer_expires_on=start - timedelta(days=7), offered_at=datetime.now(UTC)),
        source="/lfi/placements")
    offered = await wait_for(env, tokens, ref["id"],
                             lambda r: r["shown"]["placement"]["status"] == "offered")
    assert offered["version"] == ref["version"] + 1
    assert offered["shown"]["placement"]["starts_on"] == start.isoformat()

    await asyncio.sleep(0.3)
    await deliver(env, placements.PlacementStarted(
        **base, started_on=start, planned_end_on=start + timedelta(days=80)),
        source="/lfi/placements", times=3)
    started = await wait_for(env, tokens, ref["id"],
                             lambda r: r["shown"]["placement"]["status"] == "started")
    await asyncio.sleep(1.5)  # the redeliveries have been consumed by now
    settled = await shown(env, tokens, ref["id"])
    assert settled["version"] == started["version"] == offered["version"] + 1
    assert settled["shown"]["placement"]["status"] == "started"
    # Nothing else in the referral moved, and the repeats reached the consumer as duplicates.
    assert settled["status"] == "accepted"
    assert duplicates(env) - duplicates_before == 3


async def test_a_funding_decision_is_shown_once_however_often_delivered(
        env: Env, tokens: Tokens) -> None:
    ref = await walk_to(env, tokens, "accepted", cohort_body())
    ref = await act(env, tokens.practitioner_north, ref, "element3-reviews",
                    {"amount_requested": "15000.00"}, expect=201)
    decided = funding.ApplicationDecided(
        application_id=uuid.uuid4(), referral_id=uuid.UUID(ref["id"]), school_urn="990001",
        financial_year="2025-26", outcome="part_approved", amount_requested="15000.00",
        amount_awarded="9000.00", decided_on=date.today())
    await deliver(env, decided, source="/lfi/funding", times=3)
    result = await wait_for(env, tokens, ref["id"],
                            lambda r: r["shown"]["funding"]["status"] == "part_approved")
    await asyncio.sleep(1.5)
    settled = await shown(env, tokens, ref["id"])
    assert settled["version"] == result["version"] == ref["version"] + 1
    assert settled["shown"]["funding"]["amount_awarded"] == "9000.00"


async def test_outcomes_about_no_referral_of_ours_are_ignored(env: Env, tokens: Tokens) -> None:
    ref = await walk_to(env, tokens, "accepted")
    await deliver(env, placements.PlacementWaitlisted(
        request_id=uuid.uuid4(), referral_id=None, child_id=uuid.uuid4(), provision_type="apc",
        priority="standard", waitlisted_at=datetime.now(UTC)), source="/lfi/placements")
    await asyncio.sleep(1.0)
    assert (await shown(env, tokens, ref["id"]))["version"] == ref["version"]
