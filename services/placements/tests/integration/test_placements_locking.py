"""How requests lock the provisions (docs/adr-capacity.md): a waitlisting in progress never
holds up an offer, and always holds up whatever adds or frees places, which then finds it on
the waiting list."""

from __future__ import annotations

import asyncio

import pytest
from placements_harness import HarnessFactory

pytestmark = pytest.mark.timeout(60)

# What a waitlisting holds from its count to its commit.
WAITLISTING_LOCK = "SELECT id FROM placements.provisions WHERE provision_type = 'eib' FOR KEY SHARE"


async def test_an_offer_is_not_held_up_by_a_waitlisting_in_progress(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=1)
    waitlisting = await h.raw()
    try:
        async with waitlisting.transaction():
            await waitlisting.fetch(WAITLISTING_LOCK)
            reply = await asyncio.wait_for(h.request(), timeout=10)
            assert reply.status_code == 201, reply.text
            assert reply.json()["status"] == "offered"
            assert reply.json()["placement"]["provision_id"] == str(provision_id)
    finally:
        await waitlisting.close()


async def test_added_places_wait_for_a_waitlisting_in_progress_then_go_to_it(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=0)
    waiting = await h.request()
    assert waiting.json()["status"] == "waiting"
    waitlisting = await h.raw()
    try:
        tx = waitlisting.transaction()
        await tx.start()
        await waitlisting.fetch(WAITLISTING_LOCK)
        raised = asyncio.create_task(h.client.patch(
            f"/v1/provisions/{provision_id}", json={"capacity": 1},
            headers={**h.headers(), "If-Match": '"1"'}))
        await asyncio.sleep(0.5)
        assert not raised.done()  # the capacity change queues behind the waitlisting
        await tx.commit()
        reply = await asyncio.wait_for(raised, timeout=10)
        assert reply.status_code == 200, reply.text
    finally:
        await waitlisting.close()
    request = await h.client.get(f"/v1/placements/requests/{waiting.json()['id']}",
                                 headers=h.headers())
    assert request.json()["status"] == "offered"  # the new place went to the waiting request
