"""``/v1/provisions`` and ``/v1/calendar``: provisions, their capacity and dates; term dates."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from lfi_placements.api.access import ContextFactory, Manager, Staff
from lfi_placements.api.responses import RESPONSES
from lfi_placements.db import repositories as repo
from lfi_placements.db.models import AcademicTerm, ProvisionRow, platform
from lfi_placements.domain.calendar import Term
from lfi_placements.domain.vocabulary import ProvisionKind, ProvisionStatus
from lfi_placements.schemas import (
    AcademicYearCreate,
    ProvisionPage,
    ProvisionRead,
    ProvisionUpdate,
    TermList,
    TermRead,
)
from lfi_placements.service.provisions import (
    ProvisionChanges,
    add_academic_year,
    update_provision,
)
from lfi_shared.http.concurrency import IfMatch, check_if_match, set_etag
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey, IdempotencyStore
from lfi_shared.http.pagination import PageQuery, keyset_page

router = APIRouter(tags=["provisions"], responses=RESPONSES)
idempotency = IdempotencyStore(platform.idempotency)


def provision_read(row: ProvisionRow) -> ProvisionRead:
    return ProvisionRead.model_validate(
        {**{c: getattr(row, c) for c in ProvisionRead.model_fields if c != "year_groups"},
         "year_groups": sorted(row.year_groups, key=_year_order)})


def _year_order(year: str) -> tuple[int, str]:
    return (int(year), year) if year.isdigit() else (-1, year)


@router.get("/v1/provisions", response_model=ProvisionPage)
async def list_provisions(
    session: SessionDep, page: PageQuery, _: Staff,
    provision_type: Annotated[ProvisionKind | None, Query()] = None,
    zone_id: Annotated[UUID | None, Query()] = None,
    status: Annotated[ProvisionStatus | None, Query()] = None,
) -> ProvisionPage:
    """Early Intervention Bases and Alternative Provision Centres, by name."""
    stmt = select(ProvisionRow)
    if provision_type is not None:
        stmt = stmt.where(ProvisionRow.provision_type == provision_type.value)
    if zone_id is not None:
        stmt = stmt.where(ProvisionRow.zone_id == zone_id)
    if status is not None:
        stmt = stmt.where(ProvisionRow.status == status.value)
    rows, next_cursor = await keyset_page(session, stmt, [ProvisionRow.__table__.c.name,
                                                          ProvisionRow.__table__.c.id],
                                          page)
    return ProvisionPage(items=[provision_read(r) for r in rows], next_cursor=next_cursor)


@router.get("/v1/provisions/{provision_id}", response_model=ProvisionRead)
async def read_provision(provision_id: UUID, session: SessionDep, response: Response,
                         _: Staff) -> ProvisionRead:
    row = await repo.get_provision(session, provision_id)
    set_etag(response, row.version)
    return provision_read(row)


@router.patch("/v1/provisions/{provision_id}", response_model=ProvisionRead)
async def update_provision_details(provision_id: UUID, body: ProvisionUpdate,
                                   session: SessionDep, if_match: IfMatch, response: Response,
                                   principal: Manager, context: ContextFactory) -> ProvisionRead:
    """Change capacity, dates, year groups or status. A capacity below the places held on some
    day from today is refused (409); new places go to waiting requests at once."""
    row = await repo.get_provision(session, provision_id, lock=True)
    check_if_match(if_match, row.version)
    changes = ProvisionChanges(
        name=body.name, capacity=body.capacity, opening_date=body.opening_date,
        year_groups=frozenset(body.year_groups) if body.year_groups is not None else None,
        status=ProvisionStatus(body.status) if body.status else None, closed_on=body.closed_on)
    await update_provision(session, context(principal), row, changes)
    set_etag(response, row.version)
    return provision_read(row)


@router.get("/v1/calendar/terms", response_model=TermList)
async def list_terms(session: SessionDep, _: Staff) -> TermList:
    """Every term entered, earliest first."""
    rows = (await session.execute(select(AcademicTerm).order_by(AcademicTerm.start_date))
            ).scalars().all()
    return TermList(items=[TermRead(academic_year=r.academic_year, name=r.name,
                                    start=r.start_date, end=r.end_date) for r in rows])


@router.post("/v1/calendar/terms", status_code=201, response_model=TermList)
async def add_terms(body: AcademicYearCreate, session: SessionDep, principal: Manager,
                    key: IdempotencyKey = None) -> Response:
    """Enter a later academic year's term dates (the calendar must stay gap-free)."""
    async def create() -> CreatedResponse:
        terms = [Term(academic_year=body.academic_year, name=t.name, start=t.start, end=t.end)
                 for t in body.terms]
        await add_academic_year(session, terms)
        read = TermList(items=[TermRead(academic_year=t.academic_year, name=t.name,
                                        start=t.start, end=t.end) for t in terms])
        return CreatedResponse(201, read.model_dump(mode="json"), {})

    return await idempotency.run(session, key=key, owner=principal.subject,
                                 operation="add_terms", payload=body, create=create)
