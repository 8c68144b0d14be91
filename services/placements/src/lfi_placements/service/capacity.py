"""Capacity views: per provision and county-wide (by type, by zone) on a day, and forecasts
week by week and term by term from planned starts and ends. Every figure comes from the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_placements.db import repositories as repo
from lfi_placements.db.models import ProvisionRow
from lfi_placements.domain.calendar import AcademicCalendar
from lfi_placements.domain.capacity import (
    CountyTotals,
    PeriodForecast,
    ProvisionDay,
    county_totals,
    places_on,
    termly_forecast,
    weekly_forecast,
)
from lfi_placements.domain.placement import Placement
from lfi_placements.domain.provision import Provision
from lfi_placements.domain.request import PlacementRequest
from lfi_placements.domain.vocabulary import ProvisionKind

Period = Literal["week", "term"]


@dataclass(frozen=True)
class Snapshot:
    """Everything a capacity view counts: provisions, places held, waiting requests."""

    provisions: list[Provision]
    placements: list[Placement]
    requests: list[PlacementRequest]


async def snapshot(session: AsyncSession, *, provision_type: ProvisionKind | None = None,
                   provision_id: object | None = None) -> Snapshot:
    stmt = select(ProvisionRow).order_by(ProvisionRow.provision_type, ProvisionRow.name,
                                         ProvisionRow.id)
    if provision_type is not None:
        stmt = stmt.where(ProvisionRow.provision_type == provision_type.value)
    if provision_id is not None:
        stmt = stmt.where(ProvisionRow.id == provision_id)
    provisions = [repo.provision_of(r) for r in (await session.execute(stmt)).scalars().all()]
    placements = await repo.holding_placements(session, [p.id for p in provisions])
    kinds = [provision_type] if provision_type is not None else None
    requests = [repo.request_of(r) for r in await repo.waiting_request_rows(session, kinds)]
    return Snapshot(provisions, placements, requests)


def day_view(snap: Snapshot, on: date) -> tuple[list[tuple[Provision, ProvisionDay]],
                                                  CountyTotals]:
    """Each provision's places on ``on``, and the county totals."""
    days = [(p, places_on(p, snap.placements, snap.requests, on)) for p in snap.provisions]
    return days, county_totals(snap.provisions, snap.placements, snap.requests, on)


def forecasts(snap: Snapshot, *, period: Period, today: date, count: int,
              calendar: AcademicCalendar) -> list[tuple[Provision, Sequence[PeriodForecast]]]:
    """Each provision's forecast, ``count`` weeks (Monday to Sunday) or terms from ``today``."""
    if period == "week":
        return [(p, weekly_forecast(p, snap.placements, today, count)) for p in snap.provisions]
    return [(p, termly_forecast(p, snap.placements, calendar, today, count))
            for p in snap.provisions]
