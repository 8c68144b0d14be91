"""Seed and reference data of the funding service, loaded by ``make run`` (idempotent).

Loads, from ``domain.seed_data``: the Element 3 budgets 2020-21 … 2025-26 (approved, with their
notes; illustrative figures are flagged), the 2025-26 formula (version 1) and the 2025/26 term
dates paid from 2025-26. Rows that exist are left as they are, so running it again changes
nothing and never overwrites an officer's later changes.

Per-school formula inputs are not seeded: they come as a CSV import
(``PUT /v1/funding/years/{fy}/formula/inputs``), for example built from the referrals
service's sample school register once it is loaded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_funding.db.models import AcademicTerm, Budget, FormulaVersion
from lfi_funding.domain.seed_data import ACADEMIC_YEAR_2025_26, ELEMENT3_BUDGETS, FORMULA_2025_26
from lfi_funding.service.formula import factors_json
from lfi_shared.db import Database
from lfi_shared.settings import ServiceSettings

log = structlog.get_logger("lfi.seed")

SEED_ACTOR = "seed"


def _approval_day(start_year: int) -> date:
    # The council approves the budget each February, before the year starts (DESIGN §1).
    return date(start_year, 2, 1)


async def seed_session(session: AsyncSession) -> int:
    """Insert what is missing; returns how many rows were added."""
    now = datetime.now(UTC)
    added = 0
    for item in ELEMENT3_BUDGETS:
        year = item.financial_year
        result = await session.execute(insert(Budget).values(
            financial_year=year.label, start_year=year.start_year,
            formula_block_pence=item.formula_block_pence,
            cohort_block_pence=item.total_pence - item.formula_block_pence,
            committed_pence=0, status="approved", approved_on=_approval_day(year.start_year),
            approved_at=now, note=item.note,
            illustrative=item.total_illustrative or item.formula_block_illustrative,
            version=1, created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=[Budget.financial_year]))
        added += max(result.rowcount, 0)  # type: ignore[attr-defined]
    formula = FORMULA_2025_26
    result = await session.execute(insert(FormulaVersion).values(
        financial_year=formula.financial_year.label, version=formula.version,
        factors=factors_json(formula), created_by=SEED_ACTOR, created_at=now,
    ).on_conflict_do_nothing(index_elements=[FormulaVersion.financial_year,
                                             FormulaVersion.version]))
    added += max(result.rowcount, 0)  # type: ignore[attr-defined]
    for term in ACADEMIC_YEAR_2025_26.terms:
        result = await session.execute(insert(AcademicTerm).values(
            financial_year=formula.financial_year.label, term=term.term.value,
            academic_year=ACADEMIC_YEAR_2025_26.label, starts_on=term.starts_on,
            ends_on=term.ends_on, payment_on=term.payment_on,
        ).on_conflict_do_nothing(index_elements=[AcademicTerm.financial_year,
                                                 AcademicTerm.term]))
        added += max(result.rowcount, 0)  # type: ignore[attr-defined]
    return int(added)


async def seed(settings: ServiceSettings) -> None:
    """Load the service's seed data; safe to run again."""
    database = Database(settings.database_url, pool_size=1, max_overflow=0,
                        application_name="lfi-funding-seed")
    try:
        async with database.transaction() as session:
            added = await seed_session(session)
    finally:
        await database.dispose()
    log.info("seed_complete", service=settings.service_name, loaded=added)
