"""The gateway's app factory (``uvicorn --factory lfi_gateway.main:create_app``)."""

from __future__ import annotations

from fastapi import FastAPI

from lfi_shared.app import create_service_app
from lfi_gateway.settings import Settings, get_settings

DESCRIPTION = "The front door of the Local First Inclusion platform: one URL and one contract."


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings,
        title="Local First Inclusion — Gateway",
        description=DESCRIPTION,
        uses_database=False,
        uses_nats=False,
    )
