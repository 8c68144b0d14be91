"""The referrals service's app factory (``uvicorn --factory lfi_referrals.main:create_app``)."""

from __future__ import annotations

from fastapi import FastAPI

from lfi_referrals.api import contacts, referral_records, referrals, register
from lfi_referrals.db.models import platform
from lfi_referrals.messaging.handlers import subscriptions
from lfi_referrals.settings import Settings, get_settings
from lfi_shared.app import create_service_app
from lfi_shared.messaging.workers import messaging_workers

DESCRIPTION = (
    "Zones, schools, Team Around the School referrals (child, cohort, whole school), triage, "
    "support plans and phoneline contacts. The only service that holds a child's identity."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    return create_service_app(
        settings,
        title="Local First Inclusion — Referrals",
        description=DESCRIPTION,
        routers=[referral_records.router, referrals.router, register.router, contacts.router],
        workers=messaging_workers(
            tables=platform.messaging, producer="referrals",
            subscriptions=subscriptions({"fetch_timeout_s": settings.consumer_fetch_timeout_s})),
    )
