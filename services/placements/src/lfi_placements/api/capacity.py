"""``/v1/capacity``: capacity, places held, free and waiting, on a day and forecast ahead."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from lfi_placements.api.access import Manager, Staff
from lfi_placements.db import repositories as repo
from lfi_placements.domain.capacity import PeriodForecast, Totals
from lfi_placements.domain.vocabulary import ProvisionKind
from lfi_placements.schemas import (
    CapacityForecast,
    CapacityView,
    Figures,
    PeriodFigures,
    ProvisionFigures,
    ProvisionForecast,
    TypeFigures,
    TypeForecast,
    ZoneFigures,
)
from lfi_placements.service import capacity
from lfi_placements.settings import Settings
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.problems import PROBLEM_RESPONSES
from lfi_shared.http.temporal import IsoDate

router = APIRouter(tags=["capacity"], responses=PROBLEM_RESPONSES)


def _today(request: Request) -> date:
    settings: Settings = request.app.state.settings
    from lfi_placements.service.context import UseCaseContext

    return UseCaseContext(settings=settings, actor="-").today()


def _figures(t: Totals) -> dict[str, int]:
    return {"provisions": t.provisions, "capacity": t.capacity, "held": t.held, "free": t.free,
            "waiting": t.waiting}


async def _view(session: SessionDep, on: date, provision_type: ProvisionKind | None,
                provision_id: UUID | None) -> CapacityView:
    snap = await capacity.snapshot(session, provision_type=provision_type,
                                   provision_id=provision_id)
    days, totals = capacity.day_view(snap, on)
    codes = await repo.zone_codes(session)
    return CapacityView(
        on=on, overall=Figures(**_figures(totals.overall)),
        by_type=[TypeFigures(provision_type=k, **_figures(t)) for k, t in totals.by_type.items()],
        by_zone=[ZoneFigures(zone_id=z, zone_code=codes.get(z), **_figures(t))
                 for z, t in totals.by_zone.items()],
        provisions=[ProvisionFigures(
            provision_id=p.id, name=p.name, provision_type=p.provision_type, zone_id=p.zone_id,
            accepting=d.accepting, capacity=d.capacity, held=d.held, free=d.free,
            waiting=d.waiting) for p, d in days])


@router.get("/v1/capacity", response_model=CapacityView)
async def read_capacity(
    request: Request, session: SessionDep, _: Staff,
    on: Annotated[IsoDate | None, Query(description="The day; today when left out.")] = None,
    provision_type: Annotated[ProvisionKind | None, Query()] = None,
    provision_id: Annotated[UUID | None, Query()] = None,
) -> CapacityView:
    """Capacity, places held (offers included), free places and waiting requests on a day,
    per provision and county-wide by type and by zone."""
    return await _view(session, on or _today(request), provision_type, provision_id)


def _period(f: PeriodForecast) -> PeriodFigures:
    return PeriodFigures(label=f.label, first=f.first, last=f.last, capacity=f.capacity,
                         peak_held=f.peak_held, free=f.free, starting=f.starting,
                         ending=f.ending)


def _sum_periods(series: Sequence[Sequence[PeriodForecast]]) -> list[PeriodFigures]:
    if not series:
        return []
    out: list[PeriodFigures] = []
    for column in zip(*series, strict=True):
        first = column[0]
        out.append(PeriodFigures(
            label=first.label, first=first.first, last=first.last,
            capacity=sum(f.capacity for f in column), peak_held=sum(f.peak_held for f in column),
            free=sum(f.free for f in column), starting=sum(f.starting for f in column),
            ending=sum(f.ending for f in column)))
    return out


@router.get("/v1/capacity/forecast", response_model=CapacityForecast)
async def forecast_capacity(
    request: Request, session: SessionDep, _: Staff,
    period: Annotated[Literal["week", "term"], Query()] = "term",
    count: Annotated[int | None, Query(ge=1, le=104, description="Weeks or terms ahead.")] = None,
    from_date: Annotated[IsoDate | None, Query(description="Today when left out.")] = None,
    provision_type: Annotated[ProvisionKind | None, Query()] = None,
    provision_id: Annotated[UUID | None, Query()] = None,
) -> CapacityForecast:
    """Places held and free week by week or term by term ahead, from planned starts and ends:
    per provision, and summed by type."""
    settings: Settings = request.app.state.settings
    start = from_date or _today(request)
    ahead = count or (settings.forecast_weeks if period == "week" else settings.forecast_terms)
    snap = await capacity.snapshot(session, provision_type=provision_type,
                                   provision_id=provision_id)
    series = capacity.forecasts(snap, period=period, today=start, count=ahead,
                                calendar=await repo.calendar(session))
    kinds = sorted({p.provision_type for p, _ in series})
    return CapacityForecast(
        period=period, from_date=start,
        provisions=[ProvisionForecast(provision_id=p.id, name=p.name,
                                      provision_type=p.provision_type,
                                      periods=[_period(f) for f in fs]) for p, fs in series],
        by_type=[TypeForecast(provision_type=k, periods=_sum_periods(
            [fs for p, fs in series if p.provision_type == k])) for k in kinds])


CSV_COLUMNS = ("on", "provision_id", "name", "provision_type", "zone_id", "zone_code",
               "accepting", "capacity", "held", "free", "waiting")


@router.get("/v1/capacity/export", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "CSV, one row a provision"}})
async def export_capacity(
    request: Request, session: SessionDep, _: Manager,
    on: Annotated[IsoDate | None, Query()] = None,
    provision_type: Annotated[ProvisionKind | None, Query()] = None,
) -> Response:
    """The capacity view as CSV for officers: one row per provision, then one per type and
    the county total (no personal data)."""
    view = await _view(session, on or _today(request), provision_type, None)
    codes = await repo.zone_codes(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for p in view.provisions:
        writer.writerow([view.on, p.provision_id, p.name, p.provision_type.value, p.zone_id,
                         codes.get(p.zone_id, ""), p.accepting, p.capacity, p.held, p.free,
                         p.waiting])
    for t in view.by_type:
        writer.writerow([view.on, "", f"all {t.provision_type.value}", t.provision_type.value,
                         "", "", "", t.capacity, t.held, t.free, t.waiting])
    o = view.overall
    writer.writerow([view.on, "", "county", "", "", "", "", o.capacity, o.held, o.free,
                     o.waiting])
    filename = f"capacity-{view.on.isoformat()}.csv"
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
