"""Replays to a named consumer, and the catalogue served over HTTP."""

from __future__ import annotations

import json
import uuid

from events_testkit import EventsHarness, eventually, example_contract
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts import all_contracts
from lfi_contracts.funding import BudgetApproved
from lfi_events.snapshots import ASYNCAPI_FILE
from lfi_shared.auth import Role
from lfi_shared.messaging import ConsumerRunner, Envelope, Outcome


async def test_a_replay_rebuilds_a_named_consumers_read_model(events: EventsHarness) -> None:
    year = f"fy-{uuid.uuid4().hex[:6]}"
    sent = [await events.producer.publish(example_contract(BudgetApproved, financial_year=year),
                                          subject=year) for _ in range(3)]
    stored = await eventually(lambda: _all_stored(events, year, 3))
    positions = sorted(item["position"] for item in stored)

    rebuilt: list[str] = []

    async def on_budget(session: AsyncSession, envelope: Envelope) -> None:
        if envelope.subject == year:
            rebuilt.append(envelope.id)

    target = f"evtest-rebuild-{uuid.uuid4().hex[:6]}"
    body = {"consumer": target, "subject_filter": "lfi.funding.budget.>",
            "from_position": positions[1], "to_position": positions[2]}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    created = await events.client.post("/v1/events/replays", json=body,
                                       headers={**events.admin_headers, **key})
    assert created.status_code == 202, created.text
    replay = created.json()
    repeat = await events.client.post("/v1/events/replays", json=body,
                                      headers={**events.admin_headers, **key})
    assert repeat.json()["id"] == replay["id"]

    async def completed() -> dict | None:
        read = (await events.client.get(f"/v1/events/replays/{replay['id']}",
                                        headers=events.headers)).json()
        return read if read["status"] == "completed" else None

    done = await eventually(completed)
    assert done["published"] >= 2
    consumer = ConsumerRunner(
        name=target, database=events.producer.database, tables=events.producer.tables,
        settings=events.settings, producer="replays", event_filter=f"lfi.replays.{target}.>",
        handlers={BudgetApproved.event_type: on_budget}, fetch_timeout_s=0.5)
    try:
        outcomes: list[Outcome] = []
        while batch := await consumer.run_once():
            outcomes += batch
    finally:
        await consumer.close()
    assert rebuilt == [sent[1].id, sent[2].id]

    auditor = await events.client.post("/v1/events/replays", json=body, headers=events.headers)
    assert auditor.status_code == 403
    invalid = await events.client.post("/v1/events/replays", headers=events.admin_headers,
                                       json={**body, "subject_filter": "lfi.>.x"})
    assert invalid.status_code == 422


async def _all_stored(events: EventsHarness, subject: str, n: int) -> list[dict] | None:
    items = await events.stored(subject=subject)
    return items if len(items) == n else None


async def test_the_catalogue_lists_every_event_type_with_its_schema(events: EventsHarness) -> None:
    catalogue = all_contracts()
    listing = await events.client.get("/v1/event-types", headers=events.headers)
    assert listing.status_code == 200
    types = [item["type"] for item in listing.json()["items"]]
    assert types == catalogue.event_types()
    for event_type in types:
        schema = await events.client.get(f"/v1/event-types/{event_type}", headers=events.headers)
        assert schema.status_code == 200
        assert schema.headers["content-type"].startswith("application/schema+json")
        assert schema.json()["$id"] == f"urn:lfi:schema:{event_type}"
    envelope = await events.client.get(f"/v1/event-types/{types[0]}",
                                       params={"envelope": "true"}, headers=events.headers)
    assert envelope.json()["properties"]["type"] == {"const": types[0]}
    funding = await events.client.get("/v1/event-types", params={"producer": "funding"},
                                      headers=events.headers)
    assert {i["producer"] for i in funding.json()["items"]} == {"funding"}
    missing = await events.client.get("/v1/event-types/lfi.nobody.thing.done.v1",
                                      headers=events.headers)
    assert missing.status_code == 404


async def test_the_asyncapi_document_served_is_the_one_in_the_repository(
        events: EventsHarness) -> None:
    served = await events.client.get("/v1/asyncapi.json",
                                     headers=events.auth(Role.service_client))
    assert served.status_code == 200
    assert served.json() == json.loads(ASYNCAPI_FILE.read_text())
    denied = await events.client.get("/v1/asyncapi.json", headers=events.auth(Role.school_staff))
    assert denied.status_code == 403
