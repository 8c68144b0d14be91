"""The events service's app factory (``uvicorn --factory lfi_events.main:create_app``)."""

from __future__ import annotations

from fastapi import FastAPI

from lfi_contracts import all_contracts
from lfi_events.api.catalogue import router as catalogue_router
from lfi_events.api.dead_letters import router as dead_letters_router
from lfi_events.api.events import router as events_router
from lfi_events.api.stream import router as stream_router
from lfi_events.messaging.workers import events_workers
from lfi_events.settings import Settings, get_settings
from lfi_shared.app import create_service_app

DESCRIPTION = (
    "The event catalogue (JSON Schema per event type, AsyncAPI document), the append-only "
    "store of every event, journey timelines, the live stream (SSE), dead letters of every "
    "consumer and replays."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = create_service_app(
        settings,
        title="Local First Inclusion — Events",
        description=DESCRIPTION,
        # The stream router first: /v1/events/stream must not be read as /v1/events/{id}.
        routers=[catalogue_router, stream_router, events_router, dead_letters_router],
        workers=events_workers(settings),
    )
    app.state.catalogue = all_contracts()
    return app
