"""A service app built with messaging workers publishes its outbox and applies what it consumes."""

from __future__ import annotations

import asyncio
import uuid
from typing import ClassVar

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import Column, Integer, Table, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_shared.app import create_service_app
from lfi_shared.db import make_metadata
from lfi_shared.messaging import Envelope, EventContract, add_messaging_tables, record_event
from lfi_shared.messaging.workers import Subscription, messaging_workers
from lfi_shared.settings import ServiceSettings


class WidgetMade(EventContract):
    event_type: ClassVar[str] = "lfi.wkshop.widget.made.v1"
    widget_id: str


async def test_relay_and_consumer_run_inside_the_app(make_service_schema, nats_url: str,
                                                     nats_namespace: str) -> None:
    schema = "wk_workers"
    url = await make_service_schema(schema)
    metadata = make_metadata(schema)
    tables = add_messaging_tables(metadata)
    seen = Table("seen", metadata, Column("widget_id", Text, primary_key=True),
                 Column("n", Integer, nullable=False))

    async def on_made(session: AsyncSession, envelope: Envelope) -> None:
        await session.execute(seen.insert().values(widget_id=envelope.data["widget_id"], n=1))

    settings = ServiceSettings(service_name="wkshop", database_url=url, db_schema=schema,
                               nats_url=nats_url, nats_namespace=nats_namespace,
                               relay_poll_interval_s=0.2, environment="test")
    app = create_service_app(
        settings, title="t", description="t",
        workers=messaging_workers(tables=tables, producer="wkshop", subscriptions=[
            Subscription(name="wkshop-self", producer="wkshop",
                         handlers={WidgetMade.event_type: on_made},
                         options={"fetch_timeout_s": 0.5}),
        ]),
    )
    async with LifespanManager(app):
        database = app.state.database
        async with database.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        widget = str(uuid.uuid4())
        async with database.transaction() as session:
            await record_event(session, tables, settings, WidgetMade(widget_id=widget),
                               subject=widget, correlation_id=None, traceparent=None,
                               source="/lfi/wkshop")
        # The consumer's row, the relay's counter and the consumer's counter each land after
        # their own commit, in no fixed order: wait until all three are there.
        published = 'lfi_outbox_published_total{producer="wkshop"} 1.0'
        processed = 'lfi_consumer_processed_total{consumer="wkshop-self"} 1.0'
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for _ in range(100):
                async with database.transaction() as session:
                    count = (await session.execute(select(func.count()).select_from(seen))).scalar()
                metrics = (await client.get("/metrics")).text
                if count and published in metrics and processed in metrics:
                    break
                await asyncio.sleep(0.1)
            ready = await client.get("/health/ready")
        assert count == 1
        assert published in metrics
        assert processed in metrics
        assert ready.status_code == 200
