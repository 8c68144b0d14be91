"""The offer expiry sweep: a background worker expiring offers past their date, periodically.

Each run is one transaction; rows are taken with ``SKIP LOCKED`` so that several replicas of
the service may sweep at once without waiting on each other or expiring an offer twice.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from lfi_placements.service.context import UseCaseContext
from lfi_placements.service.lifecycle import expire_due_offers
from lfi_placements.settings import Settings
from lfi_shared.db import Database

log = structlog.get_logger("lfi.placements.sweep")
ACTOR = "offer-expiry-sweep"


async def sweep_once(database: Database, settings: Settings) -> int:
    """Expire the offers due now; returns how many."""
    async with database.transaction() as session:
        expired = await expire_due_offers(session, UseCaseContext(settings=settings,
                                                                  actor=ACTOR))
    if expired:
        log.info("offers_expired", count=len(expired))
    return len(expired)


class OfferExpirySweep:
    """Runs :func:`sweep_once` every ``offer_sweep_interval_s`` seconds."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.settings.offer_sweep_interval_s > 0:
            self._task = asyncio.create_task(self._run(), name="offer-expiry-sweep")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await sweep_once(self.database, self.settings)
            except Exception as exc:  # the next round tries again
                log.warning("offer_sweep_failed", error=repr(exc))
            await asyncio.sleep(self.settings.offer_sweep_interval_s)
