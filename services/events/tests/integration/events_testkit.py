"""The events service running for real (PostgreSQL, NATS JetStream) beside a test producer.

Each test module gets a fresh events database and a NATS namespace of its own (so nothing
another service's tests publish in the session reaches this store, and the other way round).
The test producer is an outbox in a schema of its own, published by the platform's relay.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import MetaData

from lfi_events.main import create_app
from lfi_events.settings import Settings
from lfi_shared.auth import Role
from lfi_shared.db import Database, make_metadata
from lfi_shared.messaging import (
    Envelope,
    EventContract,
    MessagingTables,
    OutboxRelay,
    add_messaging_tables,
    new_envelope,
    record_event,
)
from lfi_shared.settings import ServiceSettings

T = TypeVar("T")


def example_value(schema: dict[str, Any], name: str) -> Any:
    """A value satisfying one property's JSON Schema (the contracts' shapes only)."""
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        return example_value(options[0], name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "string":
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date":
            return date(2026, 1, 6).isoformat()
        if fmt == "date-time":
            return datetime.now(UTC).isoformat()
        return f"{name}-1"
    if kind == "integer":
        return 3
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [example_value(schema.get("items", {"type": "string"}), name)]
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return {"k": example_value(extra, name)}
        return {}
    return f"{name}-1"


def example_contract(contract: type[EventContract], **overrides: Any) -> EventContract:
    """An instance of ``contract`` with every field set (optional ones too)."""
    schema = contract.json_schema()
    data = {name: example_value(prop, name) for name, prop in schema["properties"].items()}
    data.update(overrides)
    return contract.model_validate(data)


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout_s: float = 15.0,
                     every_s: float = 0.1) -> T:
    """Poll ``probe`` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout_s}s: {probe}")
        await asyncio.sleep(every_s)


@dataclass
class TestProducer:
    """An outbox of its own, published by the platform's relay (as a producing service's)."""

    __test__ = False

    database: Database
    tables: MessagingTables
    metadata: MetaData
    settings: ServiceSettings
    relay: OutboxRelay

    async def record(self, event: EventContract, *, subject: str,
                     correlation_id: str | None = None) -> Envelope:
        async with self.database.transaction() as session:
            return await record_event(session, self.tables, self.settings, event,
                                      subject=subject, correlation_id=correlation_id,
                                      traceparent=None, source=f"/lfi/{event.producer()}")

    async def publish(self, event: EventContract, *, subject: str,
                      correlation_id: str | None = None) -> Envelope:
        envelope = await self.record(event, subject=subject, correlation_id=correlation_id)
        await self.relay.publish_all()
        return envelope


@dataclass
class EventsHarness:
    app: FastAPI
    settings: Settings
    client: httpx.AsyncClient
    producer: TestProducer
    headers: dict[str, str]  # an auditor's
    admin_headers: dict[str, str]  # an LA administrator's
    token_factory: Any

    @property
    def database(self) -> Database:
        database: Database = self.app.state.database
        return database

    def auth(self, role: Role | str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_factory(role)}"}

    async def publish_raw(self, envelope: Envelope, *, msg_id: str | None = None) -> int:
        """Publish an envelope straight to JetStream (as a misbehaving producer would)."""
        nc = await nats.connect(self.settings.nats_url)
        try:
            ack = await nc.jetstream().publish(
                self.settings.subject_for(envelope.type), envelope.to_bytes(),
                headers={"Nats-Msg-Id": msg_id or envelope.id})
            return ack.seq
        finally:
            await nc.close()

    async def stored(self, **params: str) -> list[dict[str, Any]]:
        response = await self.client.get("/v1/events", params={"limit": 200, **params},
                                         headers=self.headers)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


def raw_envelope(event_type: str, data: dict[str, Any], *, subject: str | None = None,
                 correlation_id: str | None = None) -> Envelope:
    return new_envelope(event_type=event_type, source=f"/lfi/{event_type.split('.')[1]}",
                        subject=subject or str(uuid.uuid4()), data=data,
                        correlation_id=correlation_id)


@pytest.fixture(scope="module")
async def events_namespace(nats_namespace: str, nats_url: str) -> AsyncIterator[str]:
    namespace = f"{nats_namespace}ev{secrets.token_hex(3)}"
    yield namespace
    try:
        nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=1)
    except Exception:
        return
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name and info.config.name.startswith(namespace.upper() + "_"):
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()


def events_settings(url: str, nats_url: str, namespace: str, jwks: Any,
                    **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url, "nats_url": nats_url, "nats_namespace": namespace,
        "environment": "test", "auth_jwks_file": jwks, "store_fetch_timeout_s": 0.3,
        "advisories_fetch_timeout_s": 0.3, "live_poll_interval_s": 0.5,
        "replay_poll_interval_s": 0.2, "live_ping_s": 5.0, "log_json": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
async def producer(make_service_schema, nats_url: str,
                   events_namespace: str) -> AsyncIterator[TestProducer]:
    schema = f"evprod_{secrets.token_hex(3)}"
    url = await make_service_schema(schema)
    metadata = make_metadata(schema)
    tables = add_messaging_tables(metadata)
    settings = ServiceSettings(service_name="evproducer", database_url=url, db_schema=schema,
                               nats_url=nats_url, nats_namespace=events_namespace,
                               environment="test")
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    relay = OutboxRelay(database=database, tables=tables, settings=settings,
                        producer="referrals")
    yield TestProducer(database=database, tables=tables, metadata=metadata,
                       settings=settings, relay=relay)
    await relay.close()
    await database.dispose()


@pytest.fixture(scope="module")
async def events(migrated_service_database, nats_url: str, events_namespace: str,
                 local_keys, token_factory, producer: TestProducer) -> AsyncIterator[EventsHarness]:
    url = await migrated_service_database("events")
    settings = events_settings(url, nats_url, events_namespace, local_keys.jwks_path)
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://events") as client:
            yield EventsHarness(
                app=app, settings=settings, client=client, producer=producer,
                headers={"Authorization": f"Bearer {token_factory(Role.auditor)}"},
                admin_headers={"Authorization": f"Bearer {token_factory(Role.la_admin)}"},
                token_factory=token_factory,
            )




