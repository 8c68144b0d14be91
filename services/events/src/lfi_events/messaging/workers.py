"""What the events service runs beside its API.

* a stream bootstrap (the producers' streams, with the producers' own configuration, so the
  store's consumers can bind before a producer has published anything);
* the live feed (LISTEN for the SSE clients);
* the advisory recorder (dead letters of every consumer);
* the replay worker;
* one :class:`StoreConsumer` per producer stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from lfi_contracts import all_contracts
from lfi_events.db.models import platform
from lfi_events.domain.privacy import PersonalDataPolicy
from lfi_events.live import LiveFeed
from lfi_events.messaging.advisories import AdvisoryRecorder
from lfi_events.messaging.replay import ReplayWorker
from lfi_events.messaging.store_consumer import StoreConsumer
from lfi_events.settings import Settings
from lfi_shared.app import ServiceRuntime, Worker, WorkerFactory
from lfi_shared.messaging import ensure_stream
from lfi_shared.messaging.metrics import register_messaging_metrics

log = structlog.get_logger("lfi.events")


def personal_data_policy(settings: Settings) -> PersonalDataPolicy:
    return PersonalDataPolicy.of(settings.personal_data_fields, settings.child_contexts,
                                 settings.child_name_fields)


class StreamBootstrap:
    """Makes sure the producers' streams exist (best effort: consumers retry anyway)."""

    def __init__(self, runtime: ServiceRuntime, settings: Settings) -> None:
        self.runtime = runtime
        self.settings = settings

    async def start(self) -> None:
        if self.runtime.nats is None:
            return
        try:
            js = await asyncio.wait_for(self.runtime.nats.jetstream(), timeout=5)
            for producer in self.settings.producers:
                await ensure_stream(js, self.settings, producer)
        except Exception as exc:
            log.warning("stream_bootstrap_failed", error=repr(exc))

    async def stop(self) -> None:
        return None


def store_consumer_name(producer: str) -> str:
    return f"events-store-{producer}"


def events_workers(settings: Settings) -> WorkerFactory:
    """The worker factory passed to ``create_service_app``."""

    async def build(runtime: ServiceRuntime) -> Sequence[Worker]:
        if runtime.database is None:
            raise RuntimeError("the events service needs its database")
        catalogue = all_contracts()
        policy = personal_data_policy(settings)
        consumers = [
            StoreConsumer(
                name=store_consumer_name(producer), database=runtime.database,
                tables=platform.messaging, settings=settings, producer=producer,
                catalogue=catalogue, policy=policy,
                fetch_timeout_s=settings.store_fetch_timeout_s,
                batch_size=settings.store_batch_size,
            )
            for producer in settings.producers
        ]
        feed = LiveFeed(database=runtime.database, schema=settings.db_schema)
        register_messaging_metrics(runtime.registry, [], consumers)
        runtime.extras["consumers"] = consumers
        runtime.extras["live_feed"] = feed
        return [
            StreamBootstrap(runtime, settings),
            feed,
            AdvisoryRecorder(database=runtime.database, settings=settings),
            ReplayWorker(database=runtime.database, settings=settings),
            *consumers,
        ]

    return build
