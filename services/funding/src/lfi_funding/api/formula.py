"""``/v1/funding/years/{fy}/formula`` and ``…/allocations``: the formula block."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import select

from lfi_funding.api.deps import (
    RESPONSES,
    ContextDep,
    YearDep,
    manage,
    read_all,
    read_own_school,
)
from lfi_funding.api.representations import allocation_read, formula_read, publication_read
from lfi_funding.db.models import FormulaVersion, School, SchoolAllocationRow, SchoolFormulaInputRow
from lfi_funding.domain.formula import FormulaFactor
from lfi_funding.domain.money import parse_pounds, pounds_str
from lfi_funding.schemas import (
    AllocationChangeRead,
    FormulaPage,
    FormulaRead,
    FormulaWrite,
    InputImportRead,
    PublicationRead,
    SchoolAllocationPage,
    SchoolAllocationRead,
    SchoolInputPage,
    SchoolInputRead,
    WhatIfRead,
    WhatIfRequest,
)
from lfi_funding.service import formula
from lfi_funding.service.context import visible_urns
from lfi_shared.auth import CurrentPrincipal
from lfi_shared.http.concurrency import IfMatch, set_etag
from lfi_shared.http.pagination import PageQuery, keyset_page
from lfi_shared.http.problems import FieldError, InvalidRequest, NotFound, problem_response

router = APIRouter(prefix="/v1/funding/years", tags=["formula"], responses=RESPONSES)

CSV_TYPES = ("text/csv", "text/plain", "application/csv")


@router.get("/{fy}/formula", response_model=FormulaRead, dependencies=[read_own_school])
async def read_formula(year: YearDep, ctx: ContextDep, response: Response,
                       version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> FormulaRead:
    """The current formula of the year (or a given version): factors and weights."""
    row = await formula.load_formula(ctx.session, year, version)
    set_etag(response, row.version)
    return formula_read(row)


@router.get("/{fy}/formula/versions", response_model=FormulaPage, dependencies=[read_all])
async def list_formula_versions(year: YearDep, ctx: ContextDep, page: PageQuery) -> FormulaPage:
    stmt = select(FormulaVersion).where(FormulaVersion.financial_year == year.label)
    rows, cursor = await keyset_page(ctx.session, stmt, [FormulaVersion.version.expression], page)
    return FormulaPage(items=[formula_read(r) for r in rows], next_cursor=cursor)


@router.put("/{fy}/formula", response_model=FormulaRead, dependencies=[manage])
async def set_formula(year: YearDep, body: FormulaWrite, ctx: ContextDep, response: Response,
                      if_match: Annotated[str | None, Header(
                          alias="If-Match", description="Required once a version exists: "
                          "the ETag of the current formula.")] = None) -> FormulaRead:
    """Save the year's factors and weights as the next version of its formula."""
    factors = [FormulaFactor(f.code, f.basis, f.weight, f.label) for f in body.factors]
    row = await formula.save_formula(ctx, year, if_match, factors)
    set_etag(response, row.version)
    return formula_read(row)


@router.put("/{fy}/formula/inputs", response_model=InputImportRead, dependencies=[manage],
            openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {
                "schema": {"type": "string"},
                "example": "urn,pupils_on_roll,fsm_ever6,low_prior_attainment,"
                           "sen_support_pupils,ehcp_pupils\n121234,420,80,60,50,6\n"}}}})
async def import_formula_inputs(year: YearDep, request: Request,
                                ctx: ContextDep) -> InputImportRead | Response:
    """Replace the year's per-school inputs with a CSV (``urn``, ``pupils_on_roll`` and one
    column per measure of need). All or nothing: any bad row → 422 naming every bad row by
    line (the header is line 1) and nothing is written."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in CSV_TYPES:
        return problem_response(415, detail="Send the inputs as text/csv.",
                                instance=request.url.path)
    raw = await request.body()
    if len(raw) > ctx.settings.max_csv_bytes:
        return problem_response(413, detail=f"The CSV is over {ctx.settings.max_csv_bytes} "
                                "bytes.", instance=request.url.path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest("The CSV is not UTF-8 text.", errors=[FieldError(
            field="body", message="must be UTF-8 text", code="encoding")]) from None
    record, measures = await formula.import_inputs(ctx, year, text)
    return InputImportRead(import_id=record.id, financial_year=year.label, rows=record.rows,
                           measures=list(measures))


@router.get("/{fy}/formula/inputs", response_model=SchoolInputPage, dependencies=[read_all])
async def list_formula_inputs(year: YearDep, ctx: ContextDep, page: PageQuery
                              ) -> SchoolInputPage:
    stmt = select(SchoolFormulaInputRow).where(
        SchoolFormulaInputRow.financial_year == year.label)
    rows, cursor = await keyset_page(ctx.session, stmt, [SchoolFormulaInputRow.urn.expression], page)
    return SchoolInputPage(items=[SchoolInputRead(urn=r.urn, pupils_on_roll=r.pupils_on_roll,
                                                  measures=r.measures) for r in rows],
                           next_cursor=cursor)


@router.post("/{fy}/formula/what-if", response_model=WhatIfRead, dependencies=[manage])
async def preview_formula(year: YearDep, body: WhatIfRequest, ctx: ContextDep) -> WhatIfRead:
    """Allocate with other weights and/or another block size and compare with the published
    allocations. Nothing is stored or published."""
    block = (None if body.formula_block is None
             else parse_pounds(body.formula_block, field="body.formula_block"))
    result = await formula.what_if(ctx.session, year, weights=body.weights, block_pence=block)
    weights: dict[str, Decimal] = dict(body.weights)
    return WhatIfRead(
        financial_year=year.label, formula_version=result.scenario.formula_version - (
            1 if weights else 0),
        weights={k: str(v) for k, v in weights.items()},
        scenario_block=pounds_str(result.scenario.block_pence),
        baseline_publication=None if result.baseline is None else result.baseline.version,
        baseline_block=pounds_str(result.baseline.block_pence if result.baseline else 0),
        schools=len(result.scenario.allocations),
        changes=[AllocationChangeRead(urn=c.urn, baseline=pounds_str(c.baseline_pence),
                                      scenario=pounds_str(c.scenario_pence),
                                      change=pounds_str(c.change_pence))
                 for c in result.changes])


@router.post("/{fy}/formula/publish", status_code=201, response_model=PublicationRead,
             dependencies=[manage])
async def publish_formula(year: YearDep, ctx: ContextDep, if_match: IfMatch,
                          response: Response) -> PublicationRead:
    """Allocate the formula block by the current formula (If-Match: its ETag), publish it as
    the next version and schedule each school's payments (emits
    ``lfi.funding.formula.published.v1``)."""
    publication = await formula.publish_allocations(ctx, year, if_match)
    response.headers["Location"] = f"/v1/funding/years/{year}/formula/publication"
    return publication_read(publication)


@router.get("/{fy}/formula/publication", response_model=PublicationRead,
            dependencies=[read_own_school])
async def read_publication(year: YearDep, ctx: ContextDep) -> PublicationRead:
    """The latest published allocation of the year."""
    publication = await formula.latest_publication(ctx.session, year)
    if publication is None:
        raise NotFound(f"No allocation of {year} is published.")
    return publication_read(publication)


@router.get("/{fy}/allocations", response_model=SchoolAllocationPage,
            dependencies=[read_own_school])
async def list_allocations(year: YearDep, ctx: ContextDep, page: PageQuery,
                           principal: CurrentPrincipal) -> SchoolAllocationPage:
    """The published allocations with their explanations (a school sees its own only)."""
    publication = await formula.latest_publication(ctx.session, year)
    if publication is None:
        return SchoolAllocationPage(items=[], next_cursor=None)
    formula_row = await formula.load_formula(ctx.session, year, publication.formula_version)
    stmt = select(SchoolAllocationRow).where(
        SchoolAllocationRow.publication_id == publication.id)
    urns = visible_urns(principal)
    if urns is not None:
        stmt = stmt.where(SchoolAllocationRow.urn.in_(sorted(urns)))
    rows, cursor = await keyset_page(ctx.session, stmt, [SchoolAllocationRow.urn.expression], page)
    names = dict((await ctx.session.execute(select(School.urn, School.name).where(
        School.urn.in_([r.urn for r in rows])))).all())
    return SchoolAllocationPage(items=[allocation_read(publication, r, formula_row,
                                                       names.get(r.urn)) for r in rows],
                                next_cursor=cursor)


@router.get("/{fy}/allocations/{urn}", response_model=SchoolAllocationRead,
            dependencies=[read_own_school])
async def read_school_allocation(year: YearDep, urn: str, ctx: ContextDep,
                                 principal: CurrentPrincipal) -> SchoolAllocationRead:
    """A school's published allocation, explained factor by factor (the factor amounts sum
    exactly to the allocation). Another school's allocation is 404 to school staff."""
    urns = visible_urns(principal)
    if urns is not None and urn not in urns:
        raise NotFound(f"No published {year} allocation for school {urn}.")
    publication, row, formula_row = await formula.school_allocation(ctx.session, year, urn)
    name = (await ctx.session.execute(select(School.name).where(School.urn == urn))).scalar()
    return allocation_read(publication, row, formula_row, name)
