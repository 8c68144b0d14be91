"""A poisoned message becomes a dead letter; redelivered after the fix, it is processed once."""

from __future__ import annotations

import uuid

from events_testkit import EventsHarness, TestProducer, eventually, example_contract
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts.placements import PlacementStarted
from lfi_shared.auth import Role
from lfi_shared.messaging import (
    Backoff,
    ConsumerRunner,
    Envelope,
    Outcome,
    PermanentEventError,
    durable_name,
)


async def test_a_poisoned_message_is_listed_and_processed_once_after_redelivery(
        events: EventsHarness, producer: TestProducer) -> None:
    state = {"broken": True, "applied": []}

    async def on_started(session: AsyncSession, envelope: Envelope) -> None:
        if state["broken"]:
            raise PermanentEventError("the read model cannot take this placement yet")
        state["applied"].append(envelope.id)

    name = f"evtest-poisoned-{uuid.uuid4().hex[:6]}"
    consumer = ConsumerRunner(
        name=name, database=producer.database, tables=producer.tables,
        settings=events.settings, producer="placements",
        event_filter="lfi.placements.placement.started.v1",
        handlers={PlacementStarted.event_type: on_started}, fetch_timeout_s=0.5,
        retry_backoff=Backoff(base_s=0.1, cap_s=0.2))
    try:
        await consumer.run_once()
        while await consumer.run_once():  # drain what earlier tests published
            pass
        state["applied"].clear()
        envelope = await producer.publish(example_contract(PlacementStarted),
                                          subject=str(uuid.uuid4()))
        outcomes = await eventually(consumer.run_once)
        assert outcomes == [Outcome.DEAD_LETTERED]

        durable = durable_name(events.settings, name)

        async def listed() -> dict | None:
            body = (await events.client.get("/v1/dead-letters", params={"consumer": durable},
                                            headers=events.headers)).json()
            return body["items"][0] if body["items"] else None

        letter = await eventually(listed)
        assert letter["event_id"] == envelope.id
        assert letter["event_type"] == PlacementStarted.event_type
        assert letter["stream"] == events.settings.stream_name("placements")
        assert letter["stream_sequence"] >= 1
        assert letter["kind"] == "terminated"
        assert letter["redelivered_at"] is None

        path = f"/v1/dead-letters/{letter['id']}"
        read = await events.client.get(path, headers=events.headers)
        etag = read.headers["etag"]
        no_precondition = await events.client.post(f"{path}/redeliver",
                                                   headers=events.admin_headers)
        assert no_precondition.status_code == 428
        auditor = await events.client.post(f"{path}/redeliver",
                                           headers={**events.headers, "If-Match": etag})
        assert auditor.status_code == 403

        state["broken"] = False  # the fix
        redelivered = await events.client.post(
            f"{path}/redeliver", headers={**events.admin_headers, "If-Match": etag})
        assert redelivered.status_code == 200, redelivered.text
        assert redelivered.json()["redelivered_at"] is not None
        again = await events.client.post(
            f"{path}/redeliver",
            headers={**events.admin_headers, "If-Match": redelivered.headers["etag"]})
        assert again.status_code == 409

        outcomes = await eventually(consumer.run_once)
        assert outcomes == [Outcome.PROCESSED]
        assert await consumer.run_once() == []
        assert state["applied"] == [envelope.id]
        # The store's own consumer saw the copy too, and kept the event once.
        assert len(await events.stored(subject=envelope.subject)) == 1
    finally:
        await consumer.close()


async def test_dead_letters_are_for_auditors_and_administrators_only(
        events: EventsHarness) -> None:
    response = await events.client.get("/v1/dead-letters", headers=events.auth(Role.school_staff))
    assert response.status_code == 403
    missing = await events.client.get(f"/v1/dead-letters/{uuid.uuid4()}", headers=events.headers)
    assert missing.status_code == 404
