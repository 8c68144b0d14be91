"""The events service's app factory (``uvicorn --factory lfi_events.main:create_app``)."""

from __future__ import annotations

from fastapi import FastAPI

from lfi_shared.app import create_service_app
from lfi_events.settings import Settings, get_settings

DESCRIPTION = (
    "The event catalogue, the audit store of every event, journey timelines, the live stream and dead letters."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings,
        title="Local First Inclusion — Events",
        description=DESCRIPTION,
        routers=[],
    )
