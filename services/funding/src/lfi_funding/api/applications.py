"""``/v1/funding/applications``: cohort and whole-school applications and their decisions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select

from lfi_funding.api.deps import (
    RESPONSES,
    ContextDep,
    decide,
    idempotency,
    read_own_school,
)
from lfi_funding.api.representations import application_read, schedule_read
from lfi_funding.db.models import Application, Decision, School
from lfi_funding.schemas import (
    ApplicationCreate,
    ApplicationEvidenceUpdate,
    ApplicationPage,
    ApplicationRead,
    DecisionCreate,
    ScheduleRead,
    WithdrawRequest,
)
from lfi_funding.service import applications, payments
from lfi_funding.service.context import FundingContext, visible_urns
from lfi_shared.auth import CurrentPrincipal, Principal, Role, require_roles
from lfi_shared.http.concurrency import IfMatch, etag_for, set_etag
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey
from lfi_shared.http.pagination import PageQuery, keyset_page
from lfi_shared.http.problems import Forbidden, NotFound

router = APIRouter(prefix="/v1/funding/applications", tags=["applications"],
                   responses=RESPONSES)

APPLICANTS = (Role.school_staff, Role.funding_officer, Role.la_admin)
apply = Depends(require_roles(*APPLICANTS))


async def _read(ctx: FundingContext, row: Application, response: Response) -> ApplicationRead:
    set_etag(response, row.version)
    name = (await ctx.session.execute(select(School.name).where(
        School.urn == row.school_urn))).scalar()
    return application_read(row, await applications.decision_of(ctx.session, row.id), name)


async def _own(ctx: FundingContext, principal: Principal, application_id: uuid.UUID, *,
               for_update: bool = False) -> Application:
    return await applications.load_application(
        ctx.session, application_id, visible=visible_urns(principal), for_update=for_update)


def _writer_urns(principal: Principal) -> frozenset[str] | None:
    """The schools whose applications ``principal`` may write (``None``: any)."""
    if principal.has_any_role(Role.funding_officer, Role.la_admin):
        return None
    return principal.school_urns


@router.post("", status_code=201, response_model=ApplicationRead, dependencies=[apply])
async def open_application(body: ApplicationCreate, ctx: ContextDep,
                           principal: CurrentPrincipal,
                           key: IdempotencyKey = None) -> Response:
    """Open a draft application for a school (school staff: their own school only)."""
    writable = _writer_urns(principal)
    if writable is not None and body.school_urn not in writable:
        raise Forbidden("You can apply only for your own school.")

    async def create() -> CreatedResponse:
        row = await applications.open_application(
            ctx, school_urn=body.school_urn, financial_year=body.financial_year,
            scope=body.scope, evidence=applications.evidence_from(body.evidence))
        read = application_read(row, None)
        return CreatedResponse(201, read.model_dump(mode="json"),
                               {"ETag": etag_for(row.version),
                                "Location": f"/v1/funding/applications/{row.id}"})

    return await idempotency.run(ctx.session, key=key, owner=ctx.actor,
                                 operation="open_application", payload=body, create=create)


@router.get("", response_model=ApplicationPage, dependencies=[read_own_school])
async def list_applications(
        ctx: ContextDep, principal: CurrentPrincipal, page: PageQuery,
        school_urn: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
        status: Annotated[str | None, Query(max_length=20)] = None,
        financial_year: Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}$")] = None,
        panel_id: uuid.UUID | None = None) -> ApplicationPage:
    """Applications, newest last; filters as query parameters (a school sees its own only)."""
    stmt = select(Application)
    urns = visible_urns(principal)
    if urns is not None:
        stmt = stmt.where(Application.school_urn.in_(sorted(urns)))
    if school_urn is not None:
        stmt = stmt.where(Application.school_urn == school_urn)
    if status is not None:
        stmt = stmt.where(Application.status == status)
    if financial_year is not None:
        stmt = stmt.where(Application.financial_year == financial_year)
    if panel_id is not None:
        stmt = stmt.where(Application.panel_id == panel_id)
    rows, cursor = await keyset_page(ctx.session, stmt, [Application.created_at.expression,
                                                         Application.id.expression], page)
    decisions = {d.application_id: d for d in (await ctx.session.execute(select(Decision).where(
        Decision.application_id.in_([r.id for r in rows])))).scalars().all()}
    return ApplicationPage(items=[application_read(r, decisions.get(r.id)) for r in rows],
                           next_cursor=cursor)


@router.get("/{application_id}", response_model=ApplicationRead,
            dependencies=[read_own_school])
async def read_application(application_id: uuid.UUID, ctx: ContextDep,
                           principal: CurrentPrincipal, response: Response) -> ApplicationRead:
    return await _read(ctx, await _own(ctx, principal, application_id), response)


async def _writable(ctx: FundingContext, principal: Principal,
                    application_id: uuid.UUID) -> Application:
    row = await _own(ctx, principal, application_id, for_update=True)
    writable = _writer_urns(principal)
    if writable is not None and row.school_urn not in writable:
        raise NotFound("No such application.")
    return row


@router.patch("/{application_id}", response_model=ApplicationRead, dependencies=[apply])
async def update_application_evidence(application_id: uuid.UUID,
                                      body: ApplicationEvidenceUpdate, ctx: ContextDep,
                                      principal: CurrentPrincipal, if_match: IfMatch,
                                      response: Response) -> ApplicationRead:
    """Replace the evidence of a draft."""
    row = await _writable(ctx, principal, application_id)
    await applications.update_evidence(ctx, row, if_match,
                                       applications.evidence_from(body.evidence))
    return await _read(ctx, row, response)


@router.post("/{application_id}/submit", response_model=ApplicationRead, dependencies=[apply])
async def submit_application(application_id: uuid.UUID, ctx: ContextDep,
                             principal: CurrentPrincipal, if_match: IfMatch,
                             response: Response) -> ApplicationRead:
    """Submit a complete draft for the panel (emits ``lfi.funding.application.submitted.v1``)."""
    row = await _writable(ctx, principal, application_id)
    await applications.submit_application(ctx, row, if_match)
    return await _read(ctx, row, response)


@router.post("/{application_id}/withdraw", response_model=ApplicationRead,
             dependencies=[apply])
async def withdraw_application(application_id: uuid.UUID, body: WithdrawRequest,
                               ctx: ContextDep, principal: CurrentPrincipal, if_match: IfMatch,
                               response: Response) -> ApplicationRead:
    row = await _writable(ctx, principal, application_id)
    await applications.withdraw_application(ctx, row, if_match, body.reason)
    return await _read(ctx, row, response)


@router.post("/{application_id}/decision", response_model=ApplicationRead,
             dependencies=[decide])
async def decide_application(application_id: uuid.UUID, body: DecisionCreate,
                             ctx: ContextDep, if_match: IfMatch,
                             response: Response) -> ApplicationRead:
    """The panel's decision: approve, part-approve (with an amount) or decline, with reasons.
    An award is committed against the cohort / whole-school block — never past it: an award
    that does not fit is refused with 409 ``budget-exceeded`` giving the ``remaining`` amount
    — and scheduled over the terms that remain (emits ``…application.decided.v1`` and
    ``…payments.scheduled.v1``)."""
    row = await applications.decide_application(ctx, application_id, if_match,
                                                outcome=body.outcome, amount=body.amount,
                                                reason=body.reason)
    return await _read(ctx, row, response)


@router.get("/{application_id}/payment-schedule", response_model=ScheduleRead,
            dependencies=[read_own_school])
async def read_application_schedule(application_id: uuid.UUID, ctx: ContextDep,
                                    principal: CurrentPrincipal) -> ScheduleRead:
    """The termly instalments of the application's award."""
    row = await _own(ctx, principal, application_id)
    found = await payments.schedule_of_application(ctx.session, row.id)
    if found is None:
        raise NotFound("This application has no payment schedule (no award yet).")
    return schedule_read(*found)
