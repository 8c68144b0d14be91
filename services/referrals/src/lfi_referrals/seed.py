"""Seed and reference data of the referrals service, loaded by ``make run`` (idempotent).

The 15 zones, then the SAMPLE school register (see :mod:`lfi_referrals.sample_register`)
through the same import as a real DfE extract, so a second run changes and publishes nothing.
"""

from __future__ import annotations

import structlog

from lfi_referrals.sample_register import ZONES, sample_register_csv
from lfi_referrals.service.register import ensure_zones, import_register
from lfi_referrals.settings import Settings
from lfi_shared.db import Database
from lfi_shared.settings import ServiceSettings

log = structlog.get_logger("lfi.seed")


async def seed(settings: ServiceSettings) -> None:
    """Load the zones and the sample register; safe to run again."""
    assert isinstance(settings, Settings)
    database = Database(settings.database_url, pool_size=1, max_overflow=0,
                        application_name="lfi-referrals-seed")
    try:
        async with database.transaction() as session:
            zones = await ensure_zones(session, settings, ZONES)
            result = await import_register(session, settings, la_code=settings.la_code,
                                           content=sample_register_csv())
    finally:
        await database.dispose()
    log.info("seed_complete", service=settings.service_name, zones_created=zones,
             schools_registered=result.registered, schools_updated=result.updated,
             schools_rejected=len(result.rejected))
