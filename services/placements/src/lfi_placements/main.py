"""The placements service's app factory (``uvicorn --factory lfi_placements.main:create_app``)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from sqlalchemy.exc import DBAPIError
from starlette.responses import JSONResponse

from lfi_placements.api import capacity, placements, provisions
from lfi_placements.db.models import platform
from lfi_placements.messaging.handlers import CONSUMER_NAME, handlers
from lfi_placements.messaging.sweep import OfferExpirySweep
from lfi_placements.settings import Settings, get_settings
from lfi_shared.app import ServiceRuntime, Worker, create_service_app
from lfi_shared.http.problems import problem_response
from lfi_shared.messaging.workers import Subscription, messaging_workers

DESCRIPTION = (
    "Early Intervention Bases and Alternative Provision Centres: capacity, placement requests, "
    "offers, placements and waiting lists."
)

# The database's own invariants (migration 0002), as problems when the application's checks
# were overtaken by a concurrent change.
_CONSTRAINT_PROBLEMS: dict[str, tuple[str, str, str]] = {
    "placements_within_capacity": (
        "provision-full", "No place is free",
        "No place is free at the provision over that period (the database refused it)."),
    "capacity_covers_places_held": (
        "capacity-below-places-held", "Capacity cannot go below the places held",
        "More places are held at the provision than that capacity."),
    "placements_child_no_overlap": (
        "overlapping-placement", "The child already holds a placement in that period",
        "The child already holds a placement overlapping that period."),
}
_RETRYABLE = {"40001", "40P01"}  # serialization failure, deadlock detected


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    constraint = getattr(cause, "constraint_name", None)
    sqlstate = getattr(cause, "sqlstate", None)
    if constraint in _CONSTRAINT_PROBLEMS:
        slug, title, detail = _CONSTRAINT_PROBLEMS[constraint]
        return problem_response(409, slug=slug, title=title, detail=detail,
                                instance=request.url.path)
    if sqlstate in _RETRYABLE:
        return problem_response(503, detail="A concurrent change got in the way; try again.",
                                instance=request.url.path, headers={"Retry-After": "1"})
    raise exc


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    messaging = messaging_workers(tables=platform.messaging, producer="placements",
                                  subscriptions=[Subscription(
                                      name=CONSUMER_NAME, producer="referrals",
                                      handlers=handlers(settings),
                                      event_filter=["lfi.referrals.referral.placement_requested.>",
                                                    "lfi.referrals.zone.>",
                                                    "lfi.referrals.school.>"])])

    async def workers(runtime: ServiceRuntime) -> Sequence[Worker]:
        assert runtime.database is not None
        return [*await messaging(runtime), OfferExpirySweep(runtime.database, settings)]

    def configure(app: FastAPI, runtime: ServiceRuntime) -> None:
        app.add_exception_handler(DBAPIError, _database_error)

    return create_service_app(
        settings,
        title="Local First Inclusion — Placements",
        description=DESCRIPTION,
        routers=[provisions.router, placements.router, capacity.router],
        workers=workers,
        configure=configure,
    )
