"""The relay under faults: NATS away, a relay dying mid-batch, two relays on one outbox."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from messaging_harness import Harness, envelope_ids, jetstream, stream_messages, wait_until
from nats.js import JetStreamContext
from nats.js.api import PubAck
from sqlalchemy import select

from lfi_shared.messaging import OutboxRelay, RelayPublishError
from lfi_shared.testing.nats import NatsServer


class SimulatedCrash(Exception):
    """The relay process dies here."""


class CrashBeforeMarking(OutboxRelay):
    """Publishes its batch, then dies before the UPDATE marking the rows published commits."""

    async def _mark_published(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
        raise SimulatedCrash


class CountingRelay(OutboxRelay):
    """Counts every message sent per event id (in a counter shared between relays)."""

    def __init__(self, *, calls: Counter[uuid.UUID], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls = calls

    async def _send(self, js: JetStreamContext, event_id: uuid.UUID, nats_subject: str,
                    body: bytes) -> asyncio.Future[PubAck]:
        self.calls[event_id] += 1
        return await super()._send(js, event_id, nats_subject, body)


async def test_events_written_while_nats_is_down_arrive_once_when_it_returns(
    harness: Harness, nats_server_factory: Callable[[], NatsServer],
) -> None:
    server = nats_server_factory()
    relay = harness.relay(nats_url=server.url)
    consumer = harness.consumer("outage", nats_url=server.url)
    assert await relay.run_once() == 0  # the stream exists before the outage
    await relay.start()
    await consumer.start()
    await wait_until(lambda: consumer._sub is not None, what="the consumer bound")

    server.stop()
    written = [await harness.place_order(f"offline {i}") for i in range(200)]  # all succeed

    await wait_until(lambda: relay.stats.failures >= 2, what="relay retrying")
    assert relay.running and consumer.running  # neither crashed
    assert await harness.unpublished() == 200

    server.start()
    await wait_until(harness.outbox_drained, timeout_s=30,
                     what="the outbox drained")
    await wait_until(lambda: _equals(harness.effects_total(), 200), timeout_s=30,
                     what="200 effects at the consumer")

    async with jetstream(server.url) as js:
        messages = await stream_messages(js, harness.stream)
    ids = envelope_ids(messages)
    assert len(messages) == 200
    assert set(ids) == {e.id for e in written}
    assert sorted(m.headers["Nats-Msg-Id"] for m in messages if m.headers) == sorted(ids)

    await asyncio.sleep(0.5)  # nothing more trickles in
    effects = await harness.effect_counts()
    assert len(effects) == 200 and set(effects.values()) == {1}
    assert {e.event_id for e in written} == set(effects)
    assert consumer.stats.processed == 200


async def test_consumer_started_before_nats_and_its_stream_catches_up_by_itself(
    harness: Harness, nats_server_factory: Callable[[], NatsServer],
) -> None:
    server = nats_server_factory()
    server.stop()
    consumer = harness.consumer("early-bird", nats_url=server.url)
    await consumer.start()  # NATS is down: it keeps trying
    await asyncio.sleep(0.3)
    server.start()
    await wait_until(lambda: consumer.stats.failures >= 2,
                     what="the consumer retrying while the stream is missing")
    assert consumer.running

    event = await harness.place_order("first")
    relay = harness.relay(nats_url=server.url)
    assert await relay.run_once() == 1  # the producer's relay creates the stream

    await wait_until(lambda: _equals(harness.effects_total(), 1), what="the effect")
    assert await harness.effect_counts() == {event.event_id: 1}


async def test_relay_dying_after_publishing_causes_no_second_effect(harness: Harness) -> None:
    written = [await harness.place_order(f"o{i}") for i in range(3)]
    consumer = harness.consumer("after-crash")
    await consumer.start()

    crashing = harness.relay(CrashBeforeMarking)
    with pytest.raises(SimulatedCrash):
        await crashing.run_once()
    await crashing.close()
    assert await harness.unpublished() == 3  # the marking rolled back ...
    await wait_until(lambda: _equals(harness.effects_total(), 3),
                     what="effects of the first publish")

    second = harness.relay()
    assert await second.run_once() == 3  # ... so the next relay publishes the rows again
    assert second.stats.duplicates == 3  # and JetStream says it had them already
    assert await harness.unpublished() == 0

    async with jetstream(harness.settings.nats_url) as js:
        messages = await stream_messages(js, harness.stream)
    assert sorted(envelope_ids(messages)) == sorted(e.id for e in written)

    await asyncio.sleep(1.0)  # time for a second delivery, if there were one
    assert await harness.effect_counts() == {e.event_id: 1 for e in written}
    assert consumer.stats.processed == 3 and consumer.stats.duplicates == 0


async def test_two_relays_on_one_outbox_publish_each_event_once(harness: Harness) -> None:
    written = []
    for start in range(0, 500, 50):
        async with harness.database.transaction() as session:
            written += [await harness.record_order(session, f"o{i}")
                        for i in range(start, start + 50)]

    calls: Counter[uuid.UUID] = Counter()
    relays = [harness.relay(CountingRelay, calls=calls, batch_size=20, name=f"relay-{n}")
              for n in ("a", "b")]
    await asyncio.gather(*(relay.start() for relay in relays))
    await wait_until(harness.outbox_drained, timeout_s=30,
                     what="the outbox drained")
    for relay in relays:
        await relay.stop()

    assert set(calls) == {e.event_id for e in written}
    assert max(calls.values()) == 1  # no row was published twice, by either relay
    assert all(relay.stats.published > 0 for relay in relays)  # both did take part
    assert sum(relay.stats.published for relay in relays) == 500
    assert sum(relay.stats.duplicates for relay in relays) == 0
    async with jetstream(harness.settings.nats_url) as js:
        info = await js.stream_info(harness.stream)
    assert info.state.messages == 500


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


class RefusesThird(OutboxRelay):
    """JetStream refuses the third message of every batch (the others are acknowledged)."""

    async def _send(self, js: JetStreamContext, event_id: uuid.UUID, nats_subject: str,
                    body: bytes) -> asyncio.Future[PubAck]:
        self.sent = getattr(self, "sent", 0) + 1
        if self.sent % 5 == 3:
            refused: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
            refused.set_exception(RuntimeError("refused by the stream"))
            return refused
        return await super()._send(js, event_id, nats_subject, body)


async def test_a_refused_message_in_a_pipelined_batch_keeps_it_and_the_rest_queued(
    harness: Harness,
) -> None:
    written = [await harness.place_order(f"o{i}") for i in range(5)]

    refusing = harness.relay(RefusesThird)
    with pytest.raises(RelayPublishError, match="2 published"):
        await refusing.run_once()

    outbox = harness.tables.outbox
    async with harness.database.transaction() as session:
        rows = {r.id: r for r in (await session.execute(select(outbox))).all()}
    assert [rows[e.event_id].published_at is not None for e in written] == [
        True, True, False, False, False]
    assert rows[written[2].event_id].attempts == 1
    assert "refused by the stream" in (rows[written[2].event_id].last_error or "")
    assert rows[written[3].event_id].attempts == 0  # sent and acknowledged, but not marked

    second = harness.relay()
    assert await second.run_once() == 3
    assert second.stats.duplicates == 2  # the two after the refusal were in the stream already
    async with jetstream(harness.settings.nats_url) as js:
        messages = await stream_messages(js, harness.stream)
    assert sorted(envelope_ids(messages)) == sorted(e.id for e in written)


async def test_pipelined_batches_keep_the_outbox_order_in_the_stream(harness: Harness) -> None:
    written = []
    for start in range(0, 60, 12):
        async with harness.database.transaction() as session:
            written += [await harness.record_order(session, f"o{i}")
                        for i in range(start, start + 12)]

    relay = harness.relay(batch_size=7)  # nine batches, two in flight at a time
    await relay.start()
    await wait_until(harness.outbox_drained, timeout_s=30, what="the outbox drained")
    await relay.stop()

    async with jetstream(harness.settings.nats_url) as js:
        messages = await stream_messages(js, harness.stream)
    assert envelope_ids(messages) == [e.id for e in written]
    assert relay.stats.published == 60 and relay.stats.duplicates == 0


async def test_a_backlog_of_full_batches_drains_in_one_round_not_one_batch_per_poll(
    harness: Harness,
) -> None:
    written = []
    for start in range(0, 60, 12):
        async with harness.database.transaction() as session:
            written += [await harness.record_order(session, f"o{i}")
                        for i in range(start, start + 12)]

    relay = harness.relay(batch_size=7, poll_interval_s=30.0)  # a batch done early ends nothing
    await relay.start()
    await wait_until(harness.outbox_drained, timeout_s=5,
                     what="the whole backlog, long before the 30 s poll")
    await relay.stop()
    assert relay.stats.published == 60
