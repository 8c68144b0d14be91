"""``/v1/funding/reports``: budget, committed, paid and remaining; year-on-year history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lfi_funding.api.deps import RESPONSES, ContextDep, YearDep, read_all, read_own_school
from lfi_funding.domain.money import pounds_str
from lfi_funding.schemas import (
    BlockLine,
    BlockReport,
    HistoryLine,
    HistoryReport,
    SchoolLine,
    SchoolReportPage,
    ZoneLine,
    ZoneReport,
)
from lfi_funding.service import reports
from lfi_funding.service.context import visible_urns
from lfi_shared.auth import CurrentPrincipal
from lfi_shared.http.pagination import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/funding/reports", tags=["reports"], responses=RESPONSES)


@router.get("/years/{fy}/blocks", response_model=BlockReport, dependencies=[read_all])
async def report_blocks(year: YearDep, ctx: ContextDep) -> BlockReport:
    """Per block: budget, committed (formula: published allocations; cohort: awards), paid
    and remaining."""
    budget, blocks = await reports.block_report(ctx.session, year)
    return BlockReport(
        financial_year=year.label, status=budget.status,
        total=pounds_str(budget.formula_block_pence + budget.cohort_block_pence),
        blocks=[BlockLine(block=b.block,
                          budget=pounds_str(b.budget), committed=pounds_str(b.committed),
                          paid=pounds_str(b.paid), remaining=pounds_str(b.remaining))
                for b in blocks])


@router.get("/years/{fy}/zones", response_model=ZoneReport, dependencies=[read_all])
async def report_zones(year: YearDep, ctx: ContextDep) -> ZoneReport:
    """Per zone (from the referrals service's school register): allocated, awarded, paid."""
    schools = await reports.school_figures(ctx.session, year)
    zones = reports.zone_figures(schools, await reports.zone_names(ctx.session))
    return ZoneReport(financial_year=year.label, zones=[ZoneLine(
        zone_id=z.zone_id, zone_name=z.zone_name, schools=z.schools,
        formula_allocated=pounds_str(z.formula_allocated),
        awards_committed=pounds_str(z.awards_committed), committed=pounds_str(z.committed),
        paid=pounds_str(z.paid), unpaid=pounds_str(z.committed - z.paid)) for z in zones])


@router.get("/years/{fy}/schools", response_model=SchoolReportPage,
            dependencies=[read_own_school])
async def report_schools(year: YearDep, ctx: ContextDep, principal: CurrentPrincipal,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                         cursor: Annotated[str | None, Query(max_length=512)] = None
                         ) -> SchoolReportPage:
    """Per school: allocated, awarded, committed, paid and unpaid (a school sees its own)."""
    after = decode_cursor(cursor, 1)[0] if cursor else ""
    lines = [s for s in await reports.school_figures(ctx.session, year,
                                                     urns=visible_urns(principal))
             if s.urn > after]
    page, more = lines[:limit], len(lines) > limit
    return SchoolReportPage(items=[SchoolLine(
        urn=s.urn, school_name=s.name, zone_id=s.zone_id,
        formula_allocated=pounds_str(s.formula_allocated),
        awards_committed=pounds_str(s.awards_committed), committed=pounds_str(s.committed),
        paid=pounds_str(s.paid), unpaid=pounds_str(s.committed - s.paid)) for s in page],
        next_cursor=encode_cursor([page[-1].urn]) if more and page else None)


@router.get("/history", response_model=HistoryReport, dependencies=[read_all])
async def report_history(ctx: ContextDep) -> HistoryReport:
    """Year on year: each year's budget, its blocks, committed and paid, and the change in
    the total from the year before."""
    years = await reports.history(ctx.session)
    out: list[HistoryLine] = []
    previous: int | None = None
    for y in years:
        total = y.budget.formula_block_pence + y.budget.cohort_block_pence
        out.append(HistoryLine(
            financial_year=y.budget.financial_year, status=y.budget.status,
            total=pounds_str(total), formula_block=pounds_str(y.budget.formula_block_pence),
            cohort_block=pounds_str(y.budget.cohort_block_pence),
            committed=pounds_str(y.budget.committed_pence), paid=pounds_str(y.paid),
            change_from_previous=None if previous is None else pounds_str(total - previous),
            illustrative=y.budget.illustrative))
        previous = total
    return HistoryReport(years=out)
