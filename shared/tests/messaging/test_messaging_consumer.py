"""Idempotent consumers: inbox, retries, dead letters (shared NATS, own namespace)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable

from messaging_harness import (
    Harness,
    OrderCancelled,
    RecordingConsumer,
    jetstream,
    wait_until,
)
from nats.aio.msg import Msg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_shared.messaging import Backoff, Envelope, Outcome


class CrashBeforeAck(RecordingConsumer):
    """Commits the effect, then dies before acknowledging (the task is killed)."""

    async def _ack(self, msg: Msg) -> None:
        self.seen.append((msg.headers.get("Nats-Msg-Id") if msg.headers else None,
                          msg.metadata.num_delivered, Outcome.PROCESSED))
        raise asyncio.CancelledError  # as if the process were killed here


async def test_consumer_dying_between_commit_and_ack_applies_its_effect_once(
    harness: Harness,
) -> None:
    event = await harness.place_order("once only")
    assert await harness.relay().run_once() == 1

    doomed = harness.consumer("commit-then-die", CrashBeforeAck)
    await doomed.start()
    await wait_until(lambda: not doomed.running, what="the consumer to die")
    await doomed.close()  # its connection goes with it; the message was never acked
    assert await harness.effect_counts() == {event.event_id: 1}  # the effect did commit

    survivor = harness.consumer("commit-then-die")
    await survivor.start()
    await wait_until(lambda: survivor.stats.duplicates == 1, timeout_s=5,
                     what="the redelivery after ack_wait")

    assert survivor.seen == [(event.id, 2, Outcome.DUPLICATE)]  # redelivered, not re-applied
    assert await harness.effect_counts() == {event.event_id: 1}
    assert survivor.stats.processed == 0
    async with jetstream(harness.settings.nats_url) as js:
        info = await js.consumer_info(harness.stream, survivor.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_message_that_always_fails_is_dead_lettered_without_holding_up_the_rest(
    harness: Harness,
) -> None:
    poison = await harness.place_order("poison")
    healthy = [await harness.place_order(f"healthy {i}") for i in range(5)]
    assert await harness.relay().run_once() == 6
    attempts: list[int] = []

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        if envelope.id == poison.id:
            attempts.append(1)
            await harness.apply_effect(session, envelope)  # rolled back with the failure
            raise RuntimeError("cannot place this order")
        await harness.apply_effect(session, envelope)

    # One message per fetch: the poison is redelivered (after its backoff) among the others.
    consumer = harness.consumer("poisoned", with_handler=False, batch_size=1,
                                handlers={"lfi.shop.order.placed.v1": handler},
                                retry_backoff=Backoff(base_s=0.2, cap_s=0.4, jitter=False))
    await consumer.start()
    dead = harness.tables.dead_letters
    await wait_until(lambda: _one(harness.count_rows(dead)), timeout_s=10, what="a dead letter")
    await asyncio.sleep(1.5)  # longer than ack_wait: a terminated message does not come back

    assert len(attempts) == 3  # max_deliver
    async with harness.database.transaction() as session:
        letter = (await session.execute(select(dead))).one()
        inbox = (await session.execute(select(harness.tables.inbox.c.event_id))).scalars().all()
        applied = dict((await session.execute(
            select(harness.effects.c.event_id, harness.effects.c.applied_at))).all())
    assert letter.event_id == poison.event_id
    assert letter.consumer == "poisoned"
    assert letter.event_type == "lfi.shop.order.placed.v1"
    assert letter.deliveries == 3
    assert "RuntimeError: cannot place this order" in letter.error
    assert letter.payload == poison.to_json_dict()
    assert letter.resolved_at is None
    assert set(applied) == {e.event_id for e in healthy}  # the poison's effect never stuck
    assert set(inbox) == {e.event_id for e in healthy}
    # The messages behind the poison were done while it was still being retried.
    assert max(applied.values()) < letter.created_at
    assert consumer.stats.dead_lettered == 1 and consumer.stats.retried == 2
    async with jetstream(harness.settings.nats_url) as js:
        info = await js.consumer_info(harness.stream, consumer.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_handler_failing_because_the_database_is_unreachable_is_never_dead_lettered(
    harness: Harness,
) -> None:
    event = await harness.place_order("patience")
    await harness.relay().run_once()
    outages = 4  # more deliveries than max_deliver (3)

    async def handler(session: AsyncSession, envelope: Envelope) -> None:
        nonlocal outages
        if outages:
            outages -= 1
            raise ConnectionRefusedError("PostgreSQL is restarting")
        await harness.apply_effect(session, envelope)

    consumer = harness.consumer("patient", with_handler=False,
                                handlers={"lfi.shop.order.placed.v1": handler})
    await consumer.start()
    await wait_until(lambda: consumer.stats.processed == 1, what="the effect, eventually")

    assert consumer.stats.retried == 4 and consumer.stats.dead_lettered == 0
    assert await harness.count_rows(harness.tables.dead_letters) == 0
    assert await harness.effect_counts() == {event.event_id: 1}


async def test_consumer_recreates_its_durable_when_it_is_deleted(harness: Harness) -> None:
    first = await harness.place_order("before")
    relay = harness.relay()
    await relay.run_once()
    consumer = harness.consumer("phoenix")
    await consumer.start()
    await wait_until(lambda: consumer.stats.processed == 1, what="the first event")

    async with jetstream(harness.settings.nats_url) as js:
        await js.delete_consumer(harness.stream, consumer.durable)
        second = await harness.place_order("after")
        await relay.run_once()
        await wait_until(lambda: consumer.stats.processed == 2, what="the second event")
        info = await js.consumer_info(harness.stream, consumer.durable)

    # The new durable starts from the stream's beginning: the inbox absorbs the replay.
    assert consumer.stats.failures >= 1 and consumer.stats.duplicates == 1
    assert await harness.effect_counts() == {first.event_id: 1, second.event_id: 1}
    assert info.config.ack_wait == harness.settings.consumer_ack_wait_s


async def test_message_that_is_not_an_envelope_is_dead_lettered_at_once(
    harness: Harness,
) -> None:
    await harness.relay().run_once()  # the stream
    subject = harness.settings.subject_for("lfi.shop.order.placed.v1")
    async with jetstream(harness.settings.nats_url) as js:
        await js.publish(subject, b"\x00 not json")
        await js.publish(subject, b'{"specversion": "1.0", "type": "lfi.shop.order.placed.v1"}')
    event = await harness.place_order("fine")
    await harness.relay().run_once()

    consumer = harness.consumer("strict")
    outcomes: list[Outcome] = []
    while len(outcomes) < 3:
        outcomes += await consumer.run_once()

    assert outcomes == [Outcome.DEAD_LETTERED, Outcome.DEAD_LETTERED, Outcome.PROCESSED]
    dead = harness.tables.dead_letters
    async with harness.database.transaction() as session:
        letters = (await session.execute(select(dead).order_by(dead.c.stream_sequence))).all()
    assert [(row.deliveries, row.stream_sequence) for row in letters] == [(1, 1), (1, 2)]
    assert letters[0].payload is None and letters[0].raw_payload == b"\x00 not json"
    assert letters[1].payload == {"specversion": "1.0", "type": "lfi.shop.order.placed.v1"}
    assert all(row.error.startswith("invalid envelope") for row in letters)
    assert await harness.effect_counts() == {event.event_id: 1}


async def test_event_type_without_handler_is_recorded_as_skipped_and_acked(
    harness: Harness,
) -> None:
    order_id = uuid.uuid4()
    async with harness.database.transaction() as session:
        from lfi_shared.messaging import record_event

        cancelled = await record_event(
            session, harness.tables, harness.settings, OrderCancelled(order_id=order_id),
            subject=str(order_id), correlation_id="req-1", traceparent=None, source="/lfi/shop",
        )
    await harness.relay().run_once()

    consumer = harness.consumer("placed-only")
    assert await consumer.run_once() == [Outcome.SKIPPED]
    await asyncio.sleep(1.2)  # past ack_wait
    assert await consumer.run_once() == []  # acked: not delivered again

    inbox = harness.tables.inbox
    async with harness.database.transaction() as session:
        row = (await session.execute(select(inbox))).one()
    assert (row.consumer, row.event_id, row.outcome) == ("placed-only", cancelled.event_id,
                                                        "skipped")
    assert json.loads(cancelled.to_bytes())["correlationid"] == "req-1"


async def _one(count: Awaitable[int]) -> bool:
    return await count == 1
