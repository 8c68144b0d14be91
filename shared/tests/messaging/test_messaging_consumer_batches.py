"""Several messages in one fetch: one transaction for all, each settled on its own when one fails."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from messaging_harness import Harness, jetstream, wait_until
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_shared.messaging import Backoff, Envelope, Outcome


async def test_messages_fetched_together_commit_in_one_transaction_and_are_all_acked(
    harness: Harness,
) -> None:
    written = [await harness.place_order(f"o{i}") for i in range(8)]
    assert await harness.relay().run_once() == 8

    consumer = harness.consumer("together", batch_size=50)
    outcomes: list[Outcome] = []
    while len(outcomes) < 8:
        outcomes += await consumer.run_once()

    assert outcomes == [Outcome.PROCESSED] * 8
    assert await harness.effect_counts() == {e.event_id: 1 for e in written}
    inbox = harness.tables.inbox
    async with harness.database.transaction() as session:
        rows = (await session.execute(select(inbox.c.event_id, inbox.c.processed_at))).all()
    assert {row.event_id for row in rows} == {e.event_id for e in written}
    # now() is the transaction's start: one value means one transaction.
    assert len({row.processed_at for row in rows}) == 1
    await asyncio.sleep(1.2)  # past ack_wait: nothing comes back
    assert await consumer.run_once() == []
    async with jetstream(harness.settings.nats_url) as js:
        info = await js.consumer_info(harness.stream, consumer.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_failing_message_in_a_batch_is_settled_alone_and_the_others_commit_once(
    harness: Harness,
) -> None:
    first = [await harness.place_order(f"before {i}") for i in range(3)]
    poison = await harness.place_order("poison")
    after = [await harness.place_order(f"after {i}") for i in range(3)]
    assert await harness.relay().run_once() == 7

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        await harness.apply_effect(session, envelope)  # rolled back with the failure
        if envelope.id == poison.id:
            raise RuntimeError("cannot place this order")

    consumer = harness.consumer("one-bad-apple", with_handler=False, batch_size=50,
                                handlers={"lfi.shop.order.placed.v1": handler},
                                retry_backoff=Backoff(base_s=0.2, cap_s=0.4, jitter=False))
    outcomes = await consumer.run_once()
    assert outcomes == [Outcome.PROCESSED] * 3 + [Outcome.RETRY] + [Outcome.PROCESSED] * 3
    healthy = {e.event_id: 1 for e in first + after}
    assert await harness.effect_counts() == healthy

    await consumer.start()
    dead = harness.tables.dead_letters
    await wait_until(lambda: _equals(harness.count_rows(dead), 1), timeout_s=10,
                     what="the poison's dead letter")
    async with harness.database.transaction() as session:
        letter = (await session.execute(select(dead))).one()
    assert (letter.event_id, letter.deliveries) == (poison.event_id, 3)
    assert await harness.effect_counts() == healthy  # the poison never stuck, nothing twice
    assert consumer.stats.processed == 6 and consumer.stats.dead_lettered == 1


async def test_redelivered_events_in_a_batch_are_duplicates_and_the_new_one_runs(
    harness: Harness,
) -> None:
    old = [await harness.place_order(f"old {i}") for i in range(3)]
    relay = harness.relay()
    await relay.run_once()
    first = harness.consumer("replayed")
    assert await first.run_once() == [Outcome.PROCESSED] * 3
    await first.close()

    async with jetstream(harness.settings.nats_url) as js:
        await js.delete_consumer(harness.stream, first.durable)  # a replay from the start
    new = await harness.place_order("new")
    await relay.run_once()

    again = harness.consumer("replayed")
    outcomes: list[Outcome] = []
    while len(outcomes) < 4:
        outcomes += await again.run_once()
    assert outcomes == [Outcome.DUPLICATE] * 3 + [Outcome.PROCESSED]
    assert await harness.effect_counts() == {e.event_id: 1 for e in [*old, new]}


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
