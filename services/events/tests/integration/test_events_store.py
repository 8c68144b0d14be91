"""The store: every published event once, validated against the catalogue; queries; refusals."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy.exc
from events_testkit import EventsHarness, eventually, example_contract, raw_envelope
from sqlalchemy import text

from lfi_contracts import all_contracts
from lfi_contracts.funding import ApplicationDecided
from lfi_contracts.referrals import ReferralElement3ReviewRequested
from lfi_events.db.models import platform
from lfi_events.domain.validation import validate_envelope
from lfi_events.messaging.store_consumer import StoreConsumer
from lfi_events.messaging.workers import personal_data_policy
from lfi_shared.auth import Role
from lfi_shared.messaging import Backoff, Outcome


async def test_every_contract_type_published_through_an_outbox_is_stored_and_validates(
        events: EventsHarness) -> None:
    catalogue = all_contracts()
    correlation = str(uuid.uuid4())
    published = {}
    for contract in catalogue:
        envelope = await events.producer.record(example_contract(contract),
                                                subject=str(uuid.uuid4()),
                                                correlation_id=correlation)
        published[envelope.id] = envelope.type
    await events.producer.relay.publish_all()

    async def all_stored() -> list[dict] | None:
        items = await events.stored(correlation_id=correlation)
        return items if len(items) >= len(published) else None

    items = await eventually(all_stored)
    assert {item["id"]: item["type"] for item in items} == published
    for item in items:
        envelope = {"specversion": "1.0", "id": item["id"], "source": item["source"],
                    "type": item["type"], "subject": item["subject"], "time": item["time"],
                    "datacontenttype": "application/json", "dataschema": item["dataschema"],
                    "data": item["data"], "correlationid": item["correlation_id"]}
        assert validate_envelope(catalogue, envelope, strict=True) == [], item["type"]
    rejected = (await events.client.get("/v1/events/rejections", headers=events.headers)).json()
    assert not {r["event_id"] for r in rejected["items"]} & set(published)


async def test_the_same_event_published_twice_with_different_message_ids_is_stored_once(
        events: EventsHarness) -> None:
    event = example_contract(ApplicationDecided)
    envelope = raw_envelope(event.event_type, event.model_dump(mode="json"))
    await events.publish_raw(envelope, msg_id=f"{envelope.id}-a")
    await events.publish_raw(envelope, msg_id=f"{envelope.id}-b")
    marker = example_contract(ApplicationDecided)
    marker_envelope = raw_envelope(marker.event_type, marker.model_dump(mode="json"))
    await events.publish_raw(marker_envelope)

    # The marker comes after both copies in the same stream: once it is stored, both copies
    # have been consumed.
    await eventually(lambda: events.stored(subject=marker_envelope.subject))
    assert len(await events.stored(subject=envelope.subject)) == 1


async def test_a_consumer_crashing_before_its_ack_stores_the_event_once(
        events: EventsHarness) -> None:
    class CrashBeforeAck(StoreConsumer):
        crashed = False

        async def _ack(self, msg) -> None:  # the process dies after commit, before the ack
            if not self.crashed:
                self.crashed = True
                return
            await super()._ack(msg)

    settings = events.settings
    consumer = CrashBeforeAck(
        name=f"evtest-crash-{uuid.uuid4().hex[:6]}", database=events.database,
        tables=platform.messaging, settings=settings, producer="funding",
        event_filter="lfi.funding.application.>", catalogue=all_contracts(),
        policy=personal_data_policy(settings), fetch_timeout_s=0.5, ack_wait_s=1.0,
        retry_backoff=Backoff(base_s=0.1, cap_s=0.2))
    try:
        # Start after everything already in the stream: only the new event matters here.
        event = example_contract(ApplicationDecided)
        envelope = raw_envelope(event.event_type, event.model_dump(mode="json"))
        outcomes: list[Outcome] = []
        await consumer.run_once()  # creates the durable (deliver all: drains older messages)
        while await consumer.run_once():
            pass
        await events.publish_raw(envelope)

        async def settled() -> bool:
            outcomes.extend(await consumer.run_once())
            return Outcome.DUPLICATE in outcomes

        await eventually(settled, timeout_s=20)
        assert consumer.crashed
        assert outcomes.count(Outcome.DUPLICATE) == 1
        assert len(await events.stored(subject=envelope.subject)) == 1
    finally:
        await consumer.close()


async def test_the_store_refuses_updates_and_deletes(events: EventsHarness) -> None:
    event = example_contract(ApplicationDecided)
    envelope = await events.producer.publish(event, subject=str(uuid.uuid4()))
    await eventually(lambda: events.stored(subject=envelope.subject))
    for statement in ("UPDATE events.stored_events SET subject = 'x' WHERE id = :id",
                      "DELETE FROM events.stored_events WHERE id = :id"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
            async with events.database.transaction() as session:
                await session.execute(text(statement), {"id": envelope.event_id})
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
        async with events.database.transaction() as session:
            await session.execute(text("TRUNCATE events.stored_events"))
    assert len(await events.stored(subject=envelope.subject)) == 1


async def test_a_childs_name_or_upn_in_an_event_is_refused_and_reported_without_values(
        events: EventsHarness) -> None:
    named = example_contract(ReferralElement3ReviewRequested).model_dump(mode="json")
    named["child"] = {"first_name": "Alice", "date_of_birth": "2014-03-02"}
    with_upn = example_contract(ReferralElement3ReviewRequested,
                                focus="B801200005001").model_dump(mode="json")
    bad = [raw_envelope(ReferralElement3ReviewRequested.event_type, named),
           raw_envelope(ReferralElement3ReviewRequested.event_type, with_upn)]
    for envelope in bad:
        await events.publish_raw(envelope)

    async def reported() -> dict | None:
        body = (await events.client.get("/v1/events/rejections",
                                        headers=events.headers)).json()
        found = {r["event_id"]: r for r in body["items"]}
        return found if all(e.id in found for e in bad) else None

    found = await eventually(reported)
    assert {(r["path"], r["code"]) for r in found[bad[0].id]["reasons"]} >= {
        ("$.child.first_name", "personal_data_field"),
        ("$.child.date_of_birth", "personal_data_field")}
    assert {"path": "$.focus", "code": "personal_data_upn"} in found[bad[1].id]["reasons"]
    listing = str(found)
    assert "Alice" not in listing and "B801200005001" not in listing and "2014" not in listing
    for envelope in bad:
        assert await events.stored(subject=envelope.subject) == []


async def test_a_payload_that_does_not_match_its_schema_is_rejected(
        events: EventsHarness) -> None:
    data = example_contract(ApplicationDecided).model_dump(mode="json")
    data["amount_awarded"] = 1250  # retyped: a number, not a pounds string
    del data["school_urn"]  # removed
    envelope = raw_envelope(ApplicationDecided.event_type, data)
    await events.publish_raw(envelope)

    async def rejected() -> dict | None:
        body = (await events.client.get("/v1/events/rejections",
                                        headers=events.headers)).json()
        return next((r for r in body["items"] if r["event_id"] == envelope.id), None)

    row = await eventually(rejected)
    assert {"path": "$.data.amount_awarded", "code": "schema_type"} in row["reasons"]
    assert {"path": "$.data", "code": "schema_required"} in row["reasons"]
    assert await events.stored(subject=envelope.subject) == []


async def test_events_are_filtered_and_paged_with_a_cursor(events: EventsHarness) -> None:
    correlation = str(uuid.uuid4())
    subject = str(uuid.uuid4())
    for _ in range(3):
        await events.producer.record(example_contract(ApplicationDecided), subject=subject,
                                     correlation_id=correlation)
    await events.producer.relay.publish_all()
    await eventually(lambda: _count_is(events, 3, subject=subject))

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"subject": subject, "type": ApplicationDecided.event_type,
                  "source": "/lfi/funding", "correlation_id": correlation, "limit": "2",
                  "time_from": "2020-01-01T00:00:00Z"}
        if cursor:
            params["cursor"] = cursor
        page = (await events.client.get("/v1/events", params=params,
                                        headers=events.headers)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3
    empty = await events.client.get("/v1/events", params={"subject": subject,
                                                           "time_to": "2020-01-01T00:00:00Z"},
                                    headers=events.headers)
    assert empty.json()["items"] == []
    bad = await events.client.get("/v1/events", params={"time_from": "yesterday"},
                                  headers=events.headers)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def _count_is(events: EventsHarness, n: int, **params: str) -> bool:
    return len(await events.stored(**params)) == n


@pytest.mark.parametrize("role", [Role.school_staff, Role.tas_practitioner,
                                  Role.placements_officer, Role.funding_officer,
                                  Role.panel_member, Role.service_client])
async def test_only_auditors_and_la_administrators_read_the_store(events: EventsHarness,
                                                                  role: Role) -> None:
    for path in ("/v1/events", "/v1/events/rejections", "/v1/dead-letters",
                 f"/v1/events/timelines/{uuid.uuid4()}"):
        response = await events.client.get(path, headers=events.auth(role))
        assert response.status_code == 403, (path, response.text)
    assert (await events.client.get("/v1/events")).status_code == 401
    for headers in (events.headers, events.admin_headers):
        assert (await events.client.get("/v1/events", headers=headers)).status_code == 200
