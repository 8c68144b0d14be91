"""Reports: budget, committed, paid and remaining per block, per zone and per school, and the
year-on-year history. Sums are done by PostgreSQL over integer pence.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, and_, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_funding.db.models import (
    Budget,
    Commitment,
    InstalmentRow,
    PaymentSchedule,
    School,
    SchoolAllocationRow,
    Zone,
)
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.service.budgets import load_budget
from lfi_funding.service.formula import latest_publication

UNASSIGNED_ZONE = "No zone recorded"


@dataclass(frozen=True)
class BlockFigures:
    block: str
    budget: int
    committed: int
    paid: int

    @property
    def remaining(self) -> int:
        return self.budget - self.committed


@dataclass(frozen=True)
class SchoolFigures:
    urn: str
    name: str | None
    zone_id: uuid.UUID | None
    formula_allocated: int
    awards_committed: int
    paid: int

    @property
    def committed(self) -> int:
        return self.formula_allocated + self.awards_committed


@dataclass(frozen=True)
class ZoneFigures:
    zone_id: uuid.UUID | None
    zone_name: str
    schools: int
    formula_allocated: int
    awards_committed: int
    paid: int

    @property
    def committed(self) -> int:
        return self.formula_allocated + self.awards_committed


async def paid_by_kind(session: AsyncSession, year: FinancialYear) -> dict[str, int]:
    stmt = (select(PaymentSchedule.kind, func.coalesce(func.sum(InstalmentRow.amount_pence), 0))
            .join(PaymentSchedule, PaymentSchedule.id == InstalmentRow.schedule_id)
            .where(InstalmentRow.financial_year == year.label,
                   InstalmentRow.payment_run_id.is_not(None))
            .group_by(PaymentSchedule.kind))
    return {kind: int(total) for kind, total in (await session.execute(stmt)).all()}


async def block_report(session: AsyncSession, year: FinancialYear) -> tuple[Budget,
                                                                              list[BlockFigures]]:
    budget = await load_budget(session, year)
    publication = await latest_publication(session, year)
    paid = await paid_by_kind(session, year)
    allocated = publication.block_pence if publication is not None else 0
    return budget, [
        BlockFigures("formula", budget.formula_block_pence, allocated, paid.get("formula", 0)),
        BlockFigures("cohort", budget.cohort_block_pence, budget.committed_pence,
                     paid.get("award", 0)),
    ]


async def school_figures(session: AsyncSession, year: FinancialYear, *,
                         urns: frozenset[str] | None = None) -> list[SchoolFigures]:
    """Per school: formula allocated (latest publication), awards committed, paid."""
    publication = await latest_publication(session, year)
    parts = []
    if publication is not None:
        parts.append(select(SchoolAllocationRow.urn.label("urn"),
                            SchoolAllocationRow.amount_pence.label("formula"),
                            literal(0).label("awards"), literal(0).label("paid"))
                     .where(SchoolAllocationRow.publication_id == publication.id))
    parts.append(select(PaymentSchedule.school_urn.label("urn"), literal(0).label("formula"),
                        Commitment.amount_pence.label("awards"), literal(0).label("paid"))
                 .join(Commitment, Commitment.application_id == PaymentSchedule.application_id)
                 .where(PaymentSchedule.financial_year == year.label))
    parts.append(select(InstalmentRow.school_urn.label("urn"), literal(0).label("formula"),
                        literal(0).label("awards"), InstalmentRow.amount_pence.label("paid"))
                 .where(InstalmentRow.financial_year == year.label,
                        InstalmentRow.payment_run_id.is_not(None)))
    lines = union_all(*parts).subquery()
    stmt = (select(lines.c.urn, School.name, School.zone_id,
                   func.sum(lines.c.formula), func.sum(lines.c.awards), func.sum(lines.c.paid))
            .outerjoin(School, School.urn == lines.c.urn)
            .group_by(lines.c.urn, School.name, School.zone_id).order_by(lines.c.urn))
    if urns is not None:
        stmt = stmt.where(lines.c.urn.in_(sorted(urns)))
    return [SchoolFigures(urn, name, zone, int(f), int(a), int(p))
            for urn, name, zone, f, a, p in (await session.execute(stmt)).all()]


def zone_figures(schools: Sequence[SchoolFigures],
                 zone_names: dict[uuid.UUID, str]) -> list[ZoneFigures]:
    grouped: dict[uuid.UUID | None, list[SchoolFigures]] = {}
    for school in schools:
        grouped.setdefault(school.zone_id, []).append(school)
    out = [ZoneFigures(zone_id, zone_names.get(zone_id, str(zone_id)) if zone_id is not None
                       else UNASSIGNED_ZONE, len(group),
                       sum(s.formula_allocated for s in group),
                       sum(s.awards_committed for s in group), sum(s.paid for s in group))
           for zone_id, group in grouped.items()]
    return sorted(out, key=lambda z: (z.zone_id is None, z.zone_name))


async def zone_names(session: AsyncSession) -> dict[uuid.UUID, str]:
    return dict((await session.execute(select(Zone.zone_id, Zone.name))).all())


@dataclass(frozen=True)
class YearFigures:
    budget: Budget
    paid: int


async def history(session: AsyncSession) -> list[YearFigures]:
    """Every year's budget with what was paid, oldest first."""
    paid = (select(InstalmentRow.financial_year.label("fy"),
                   func.sum(InstalmentRow.amount_pence).label("paid"))
            .where(InstalmentRow.payment_run_id.is_not(None))
            .group_by(InstalmentRow.financial_year).subquery())
    stmt = (select(Budget, func.coalesce(paid.c.paid, 0))
            .outerjoin(paid, and_(cast(paid.c.fy, String) == Budget.financial_year))
            .order_by(Budget.start_year))
    return [YearFigures(b, int(p)) for b, p in (await session.execute(stmt)).all()]
