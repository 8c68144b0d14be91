"""The funding service's app factory (``uvicorn --factory lfi_funding.main:create_app``)."""

from __future__ import annotations

from fastapi import FastAPI

from lfi_funding.api import routers
from lfi_funding.db.models import platform
from lfi_funding.messaging.handlers import referrals_subscription
from lfi_funding.service.context import system_clock
from lfi_funding.settings import Settings, get_settings
from lfi_shared.app import create_service_app
from lfi_shared.messaging.workers import messaging_workers

DESCRIPTION = (
    "The Element 3 budget: formula block, cohort and whole-school applications, panel "
    "decisions and payment schedules."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = create_service_app(
        settings,
        title="Local First Inclusion — Funding",
        description=DESCRIPTION,
        routers=routers(),
        workers=messaging_workers(tables=platform.messaging, producer="funding",
                                  subscriptions=[referrals_subscription(settings)]),
    )
    # The time every use case sees (tests set a fixed one; ``FundingContext.now``).
    app.state.clock = system_clock
    return app
