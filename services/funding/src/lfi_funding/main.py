"""The funding service's app factory (``uvicorn --factory lfi_funding.main:create_app``)."""

from __future__ import annotations

from fastapi import FastAPI

from lfi_shared.app import create_service_app
from lfi_funding.settings import Settings, get_settings

DESCRIPTION = (
    "The Element 3 budget: formula block, cohort and whole-school applications, panel decisions and payment schedules."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings,
        title="Local First Inclusion — Funding",
        description=DESCRIPTION,
        routers=[],
    )
