"""Seed and reference data of the placements service, loaded by ``make run`` (idempotent)."""

from __future__ import annotations

import structlog

from lfi_shared.settings import ServiceSettings

log = structlog.get_logger("lfi.seed")


async def seed(settings: ServiceSettings) -> None:
    """Load the service's seed data; safe to run again."""
    log.info("seed_complete", service=settings.service_name, loaded=0)
