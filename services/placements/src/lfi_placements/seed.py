"""Seed and reference data of the placements service, loaded by ``make run`` (idempotent).

* provision types and Norfolk's 2025/26 term dates (from :mod:`.domain.reference_data`);
* the programme's provisions: nine Early Intervention Bases of ten places (90 in all), open from
  September 2025; King's Lynn Academy's Alternative Provision Centre, open since January 2025,
  and nine more opening in September 2026 (224 places in all).

Only the totals, the counts, King's Lynn and the opening months are published. How the 224 APC
places split between centres, the provisions' zones, host schools (placeholder URNs 9000xx)
and year groups are illustrative seed values, for officers to correct as data. Zone ids are
``uuid5`` of the zone code (:func:`zone_id_for`), so that the referrals service's zones can be
made to line up; zones arrive in the read model by event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts.referrals import seeded_zone_id
from lfi_placements.db.models import AcademicTerm, ProvisionRow, ProvisionTypeRow, Zone
from lfi_placements.domain.reference_data import seed_provision_types, seed_terms
from lfi_placements.domain.vocabulary import ProvisionKind, ProvisionStatus
from lfi_shared.db import Database
from lfi_shared.settings import ServiceSettings

log = structlog.get_logger("lfi.seed")

SEED_NAMESPACE = uuid.UUID("5b0f7c3e-2a55-4c1e-9a53-6d1c1f0b7a10")


def zone_id_for(code: str) -> uuid.UUID:
    """The zone's id as the referrals service seeds it (the zones' owner)."""
    return seeded_zone_id(code)


def provision_id_for(code: str) -> uuid.UUID:
    return uuid.uuid5(SEED_NAMESPACE, f"provision:{code}")


ZONES: tuple[tuple[str, str], ...] = (
    ("north-norwich", "North Norwich"), ("kings-lynn", "King's Lynn"),
    *((f"zone-{n:02d}", f"Zone {n}") for n in range(3, 16)),
)
PRIMARY_AND_KS3 = ("1", "2", "3", "4", "5", "6", "7", "8", "9")
SECONDARY = ("7", "8", "9", "10", "11")


@dataclass(frozen=True)
class SeedProvision:
    code: str
    kind: ProvisionKind
    name: str
    capacity: int
    zone: str
    host_school_urn: str
    year_groups: tuple[str, ...]
    opening_date: date
    status: ProvisionStatus


def seed_provisions() -> tuple[SeedProvision, ...]:
    zone_codes = [code for code, _ in ZONES]
    eibs = tuple(
        SeedProvision(f"eib-{n}", ProvisionKind.EIB, f"Early Intervention Base {n}", 10,
                      zone_codes[(n - 1) % len(zone_codes)], f"9000{n:02d}", PRIMARY_AND_KS3,
                      date(2025, 9, 1), ProvisionStatus.OPEN)
        for n in range(1, 10))
    kings_lynn = SeedProvision(
        "apc-kings-lynn-academy", ProvisionKind.APC,
        "King's Lynn Academy Alternative Provision Centre", 26, "kings-lynn", "900010",
        SECONDARY, date(2025, 1, 6), ProvisionStatus.OPEN)
    apcs = tuple(
        SeedProvision(f"apc-{n}", ProvisionKind.APC, f"Alternative Provision Centre {n}", 22,
                      zone_codes[(n + 1) % len(zone_codes)], f"9000{n + 10:02d}", SECONDARY,
                      date(2026, 9, 1), ProvisionStatus.PLANNED)
        for n in range(1, 10))
    return (*eibs, kings_lynn, *apcs)


async def load_seed(session: AsyncSession) -> int:
    """Insert what is missing of the seed data (nothing already there is changed)."""
    loaded = 0
    for kind in seed_provision_types():
        result = await session.execute(insert(ProvisionTypeRow).values(
            code=kind.code.value, name=kind.name, max_stay_terms=kind.max_stay_terms,
            programme_provisions=kind.programme_provisions,
            programme_places=kind.programme_places).on_conflict_do_nothing())
        loaded += result.rowcount  # type: ignore[attr-defined]
    for term in seed_terms():
        result = await session.execute(insert(AcademicTerm).values(
            academic_year=term.academic_year, name=term.name.value, start_date=term.start,
            end_date=term.end).on_conflict_do_nothing())
        loaded += result.rowcount  # type: ignore[attr-defined]
    for code, name in ZONES:
        await session.execute(insert(Zone).values(id=zone_id_for(code), code=code, name=name)
                              .on_conflict_do_nothing())
    for p in seed_provisions():
        result = await session.execute(insert(ProvisionRow).values(
            id=provision_id_for(p.code), provision_type=p.kind.value, name=p.name,
            capacity=p.capacity, zone_id=zone_id_for(p.zone), host_school_urn=p.host_school_urn,
            year_groups=list(p.year_groups), opening_date=p.opening_date, status=p.status.value,
            closed_on=None, version=1).on_conflict_do_nothing())
        loaded += result.rowcount  # type: ignore[attr-defined]
    return loaded


async def seed(settings: ServiceSettings) -> None:
    """Load the service's seed data; safe to run again."""
    database = Database(settings.database_url, application_name="lfi-placements-seed")
    try:
        async with database.transaction() as session:
            loaded = await load_seed(session)
    finally:
        await database.dispose()
    log.info("seed_complete", service=settings.service_name, loaded=loaded)
