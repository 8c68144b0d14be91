"""The placements service's app factory (``uvicorn --factory lfi_placements.main:create_app``)."""

from __future__ import annotations

from fastapi import FastAPI

from lfi_shared.app import create_service_app
from lfi_placements.settings import Settings, get_settings

DESCRIPTION = (
    "Early Intervention Bases and Alternative Provision Centres: capacity, placement requests, offers, placements and waiting lists."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings,
        title="Local First Inclusion — Placements",
        description=DESCRIPTION,
        routers=[],
    )
