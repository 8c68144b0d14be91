"""Events recorded inside a statement of the service's own (``recording_cte`` and
``notify_relay`` riding on its change): the same rows, order, NOTIFY and atomicity as
``record_events``, in one round trip."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from messaging_harness import PRODUCER, SOURCE, Harness, OrderPlaced
from sqlalchemy import Select, bindparam, insert, select

from lfi_shared.db import to_asyncpg_dsn
from lfi_shared.messaging import EventToRecord
from lfi_shared.messaging.outbox import notify_relay, outbox_parameters, recording_cte


class Boom(Exception):
    pass


def _change_and_events(harness: Harness) -> Select[tuple[Any]]:
    """The change (a ``changes`` row) with its events and the relay's NOTIFY riding on it."""
    change = insert(harness.changes).values(id=bindparam("change_id"),
                                            label=bindparam("change_label"))
    return notify_relay(recording_cte(harness.tables.outbox)).add_cte(change.cte("changed"))


def _events(harness: Harness, labels: list[str]) -> list[EventToRecord]:
    return [EventToRecord(OrderPlaced(order_id=uuid.uuid4(), label=label), "subject", None)
            for label in labels]


async def test_events_ride_on_the_change_in_order_and_wake_the_relay(harness: Harness) -> None:
    listener = await asyncpg.connect(to_asyncpg_dsn(harness.url))
    woken: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(harness.tables.notify_channel,
                                lambda _c, _pid, channel, _payload: woken.put_nowait(channel))
    try:
        envelopes, parameters = outbox_parameters(
            harness.tables, harness.settings, _events(harness, ["a", "b", "c"]),
            traceparent=None, source=SOURCE)
        async with harness.database.transaction() as session:
            await session.execute(_change_and_events(harness), parameters | {
                "change_id": uuid.uuid4(), "change_label": "three events"})
        assert await asyncio.wait_for(woken.get(), 2) == harness.tables.notify_channel
        async with harness.database.transaction() as session:
            rows = (await session.execute(
                select(harness.tables.outbox.c.id, harness.tables.outbox.c.nats_subject,
                       harness.tables.outbox.c.payload)
                .order_by(harness.tables.outbox.c.seq))).all()
        assert [row.id for row in rows] == [e.event_id for e in envelopes]
        assert [row.payload for row in rows] == [e.to_json_dict() for e in envelopes]
        assert {row.nats_subject for row in rows} == {
            f"{harness.settings.nats_namespace}.lfi.{PRODUCER}.order.placed.v1"}
        assert await harness.count_rows(harness.changes) == 1
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(woken.get(), 0.3)  # one NOTIFY for the three rows

        # No events: the change alone, no outbox row and nobody woken.
        _, none = outbox_parameters(harness.tables, harness.settings, [], traceparent=None,
                                    source=SOURCE)
        async with harness.database.transaction() as session:
            await session.execute(_change_and_events(harness), none | {
                "change_id": uuid.uuid4(), "change_label": "no event"})
        assert await harness.count_rows(harness.changes) == 2
        assert await harness.outbox_size() == 3
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(woken.get(), 0.3)
    finally:
        await listener.close()


async def test_events_riding_on_a_change_roll_back_with_it(harness: Harness) -> None:
    _, parameters = outbox_parameters(harness.tables, harness.settings,
                                      _events(harness, ["lost"]), traceparent=None,
                                      source=SOURCE)
    with pytest.raises(Boom):
        async with harness.database.transaction() as session:
            await session.execute(_change_and_events(harness), parameters | {
                "change_id": uuid.uuid4(), "change_label": "abandoned"})
            raise Boom
    assert await harness.outbox_size() == 0
    assert await harness.count_rows(harness.changes) == 0
