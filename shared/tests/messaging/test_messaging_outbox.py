"""The transactional outbox and the relay's ordinary work (shared NATS, own namespace)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from messaging_harness import Harness, envelope_ids, jetstream, stream_messages, wait_until
from nats.js.api import StorageType
from sqlalchemy import select

from lfi_shared.db import to_asyncpg_dsn
from lfi_shared.testing import plugin


class Boom(Exception):
    pass


async def listen(harness: Harness) -> tuple[asyncpg.Connection, asyncio.Queue[str]]:
    conn = await asyncpg.connect(to_asyncpg_dsn(harness.url))
    queue: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener(harness.tables.notify_channel,
                            lambda _c, _pid, channel, _payload: queue.put_nowait(channel))
    return conn, queue


async def test_rolled_back_transaction_publishes_nothing(harness: Harness) -> None:
    relay = harness.relay()
    assert await relay.run_once() == 0  # creates the (empty) stream
    listener, notifications = await listen(harness)
    try:
        with pytest.raises(Boom):
            async with harness.database.transaction() as session:
                await harness.record_order(session, "abandoned")
                assert await harness.outbox_size() == 0  # not visible outside, uncommitted
                raise Boom

        assert await harness.outbox_size() == 0
        assert await harness.scalar(f"SELECT count(*) FROM {harness.schema}.changes") == 0
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(notifications.get(), 0.3)  # nobody was woken
        assert await relay.run_once() == 0
        async with jetstream(harness.settings.nats_url) as js:
            assert await stream_messages(js, harness.stream) == []

            # The same steps committed do reach the stream: the test above can fail.
            kept = await harness.place_order("kept")
            assert await asyncio.wait_for(notifications.get(), 2) == harness.tables.notify_channel
            assert await relay.run_once() == 1
            [message] = await stream_messages(js, harness.stream)
            assert envelope_ids([message])[0] == kept.id
    finally:
        await listener.close()


async def test_recorded_event_is_an_outbox_row_holding_the_whole_envelope(
    harness: Harness,
) -> None:
    envelope = await harness.place_order("first")

    outbox = harness.tables.outbox
    async with harness.database.transaction() as session:
        row = (await session.execute(select(outbox))).one()
    assert row.id == envelope.event_id
    assert row.event_type == "lfi.shop.order.placed.v1"
    assert row.subject == envelope.subject
    assert row.nats_subject == f"{harness.settings.nats_namespace}.lfi.shop.order.placed.v1"
    assert row.payload == envelope.to_json_dict()
    assert row.published_at is None
    assert row.attempts == 0


async def test_relay_publishes_in_order_with_the_event_id_as_message_id(
    harness: Harness,
) -> None:
    async with harness.database.transaction() as session:  # several events, one transaction
        written = [await harness.record_order(session, f"o{i}") for i in range(5)]
    written.append(await harness.place_order("later"))

    relay = harness.relay()
    assert await relay.publish_all() == 6
    assert await harness.unpublished() == 0

    async with jetstream(harness.settings.nats_url) as js:
        messages = await stream_messages(js, harness.stream)
        config = (await js.stream_info(harness.stream)).config
    assert config.subjects == [f"{harness.settings.nats_namespace}.lfi.shop.>"]
    assert config.storage == StorageType.FILE
    assert config.duplicate_window == 120
    assert [m.headers["Nats-Msg-Id"] for m in messages if m.headers] == [e.id for e in written]
    assert envelope_ids(messages) == [e.id for e in written]
    assert relay.stats.published == 6


async def test_relay_is_woken_by_notify_not_by_polling(harness: Harness) -> None:
    relay = harness.relay(poll_interval_s=30.0)
    await relay.start()
    await wait_until(lambda: relay._listener is not None, what="relay listening")
    await asyncio.sleep(0.1)  # the first (empty) round is done; the relay now sleeps 30 s

    await harness.place_order("wake up")

    await wait_until(harness.outbox_drained, timeout_s=3,
                     what="publication long before the 30 s poll")
    await relay.stop()
    assert not relay.running


async def test_relay_listens_again_after_losing_its_database_connections(
    harness: Harness, test_database: plugin.TestDatabase,
) -> None:
    relay = harness.relay(poll_interval_s=30.0)
    await relay.start()
    await wait_until(lambda: relay._listener is not None, what="relay listening")
    admin = await asyncpg.connect(test_database.admin_dsn)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1",
            harness.role,
        )
    finally:
        await admin.close()
    assert killed >= 1
    await asyncio.sleep(0.3)

    await harness.place_order("after the database restart")

    await wait_until(harness.outbox_drained, timeout_s=3,
                     what="publication through a new LISTEN connection")
    assert relay.running


async def test_relay_prunes_rows_published_long_enough_ago(harness: Harness) -> None:
    await harness.place_order("old news")
    relay = harness.relay(prune_after_s=0)
    assert await relay.run_once() == 1
    await harness.place_order("not yet published")

    assert await relay.prune() == 1
    assert await harness.outbox_size() == 1
    assert await harness.unpublished() == 1
