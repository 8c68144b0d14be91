"""``/v1/placements``: placement requests, offers and placements, and their lifecycle."""

from __future__ import annotations

import uuid
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_placements.api.access import (
    ContextFactory,
    Manager,
    Reader,
    Requester,
    may_see,
    visibility,
    zone_ids_of,
)
from lfi_placements.api.responses import RESPONSES
from lfi_placements.db import repositories as repo
from lfi_placements.db.models import PlacementRequestRow, PlacementRow, platform
from lfi_placements.domain.errors import (
    OverlappingPlacement,
    PlacementNotFound,
    PlacementRequestNotFound,
)
from lfi_placements.domain.placement import ensure_no_overlap
from lfi_placements.domain.vocabulary import (
    HOLDING_STATUSES,
    CancellationReason,
    PlacementStatus,
    ProvisionKind,
    RequestStatus,
)
from lfi_placements.schemas import (
    AcceptOffer,
    AgreementRead,
    ChangePlannedEnd,
    EndPlacement,
    ExpiredOffers,
    PlacementPage,
    PlacementRead,
    PlacementRequestCreate,
    PlacementRequestPage,
    PlacementRequestRead,
    StartPlacement,
)
from lfi_placements.service import lifecycle
from lfi_placements.service.placing import NewRequest, receive_request
from lfi_shared.auth import Principal, Role
from lfi_shared.http.concurrency import IfMatch, check_if_match, set_etag
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey, IdempotencyStore
from lfi_shared.http.pagination import PageQuery, keyset_page
from lfi_shared.http.problems import Forbidden

router = APIRouter(tags=["placements"], responses=RESPONSES)
idempotency = IdempotencyStore(platform.idempotency)
_HOLDING = [s.value for s in HOLDING_STATUSES]


def placement_read(row: PlacementRow) -> PlacementRead:
    agreement = None
    if row.agreement_given_by and row.agreed_on and row.agreement_recorded_at:
        agreement = AgreementRead(given_by=row.agreement_given_by, agreed_on=row.agreed_on,
                                  recorded_by=row.agreement_recorded_by or "",
                                  recorded_at=row.agreement_recorded_at)
    fields = {c: getattr(row, c) for c in PlacementRead.model_fields if c != "agreement"}
    return PlacementRead.model_validate({**fields, "agreement": agreement})


async def request_read(session: AsyncSession, row: PlacementRequestRow) -> PlacementRequestRead:
    holding = (await session.execute(
        select(PlacementRow).where(PlacementRow.request_id == row.id,
                                   PlacementRow.status.in_(_HOLDING)))).scalar_one_or_none()
    return request_read_with(row, holding)


def request_read_with(row: PlacementRequestRow,
                      holding: PlacementRow | None) -> PlacementRequestRead:
    """A request as read, with the placement known to hold a place for it (if any)."""
    fields = {c: getattr(row, c) for c in PlacementRequestRead.model_fields if c != "placement"}
    return PlacementRequestRead.model_validate(
        {**fields, "placement": placement_read(holding) if holding else None})


# -- requests -------------------------------------------------------------------------------

@router.post("/v1/placements/requests", status_code=201, response_model=PlacementRequestRead)
async def request_placement(body: PlacementRequestCreate, session: SessionDep,
                            principal: Requester, context: ContextFactory,
                            key: IdempotencyKey = None) -> Response:
    """Ask for an EIB or APC place for a child: offered at once at the best suitable provision
    with a place free over the whole stay, otherwise waitlisted by priority. A planned end
    beyond the type's maximum stay (counted in terms by the calendar) is refused (422)."""
    ctx = context(principal)
    if principal.has_role(Role.tas_practitioner) and not principal.has_any_role(
            Role.placements_officer, Role.la_admin):
        zone = body.zone_id or await repo.school_zone(session, body.home_school_urn)
        if zone is None or zone not in await zone_ids_of(session, principal):
            raise Forbidden("You may request placements only for children in your zones.")

    async def create() -> CreatedResponse:
        kind = ProvisionKind(body.provision_type)
        stay, child = await repo.stay_and_child_situation(session, kind, body.child_id)
        start = max(body.requested_start, ctx.today())
        if body.planned_end is not None:
            stay.check_planned_end(start, body.planned_end)
        else:
            stay.latest_end(start, field="body.requested_start")
        ensure_no_overlap(child.placements, start, body.planned_end or stay.latest_end(start))
        if child.open_request_id is not None:
            raise OverlappingPlacement(
                f"The child already has an open {kind.value} placement request.",
                extra={"request_id": str(child.open_request_id)})
        received = await receive_request(session, ctx, NewRequest(
            id=uuid.uuid4(), child_id=body.child_id, home_school_urn=body.home_school_urn,
            zone_id=body.zone_id, year_group=body.year_group.value,
            needs=tuple(n.value for n in body.needs), provision_type=kind,
            priority=body.priority.value, requested_start=body.requested_start,
            requested_end=body.planned_end, referral_id=body.referral_id,
            correlation_id=str(body.referral_id) if body.referral_id else None))
        row = received.request
        read = request_read_with(row, received.placement)
        return CreatedResponse(201, read.model_dump(mode="json"),
                               {"ETag": f'"{row.version}"',
                                "Location": f"/v1/placements/requests/{row.id}"})

    return await idempotency.run(session, key=key, owner=principal.subject,
                                 operation="request_placement", payload=body, create=create)


@router.get("/v1/placements/requests", response_model=PlacementRequestPage)
async def list_placement_requests(
    session: SessionDep, page: PageQuery, principal: Reader,
    status: Annotated[RequestStatus | None, Query()] = None,
    provision_type: Annotated[ProvisionKind | None, Query()] = None,
    child_id: Annotated[UUID | None, Query()] = None,
    referral_id: Annotated[UUID | None, Query()] = None,
) -> PlacementRequestPage:
    """Requests the caller may see, in order of arrival."""
    stmt = select(PlacementRequestRow).where(await visibility(
        session, principal, home_school_urn=PlacementRequestRow.home_school_urn,
        zone_id=PlacementRequestRow.zone_id))
    if status is not None:
        stmt = stmt.where(PlacementRequestRow.status == status.value)
    if provision_type is not None:
        stmt = stmt.where(PlacementRequestRow.provision_type == provision_type.value)
    if child_id is not None:
        stmt = stmt.where(PlacementRequestRow.child_id == child_id)
    if referral_id is not None:
        stmt = stmt.where(PlacementRequestRow.referral_id == referral_id)
    rows, next_cursor = await keyset_page(
        session, stmt, [PlacementRequestRow.__table__.c.requested_at,
                        PlacementRequestRow.__table__.c.id], page)
    return PlacementRequestPage(items=[await request_read(session, r) for r in rows],
                                next_cursor=next_cursor)


async def _visible_request(session: AsyncSession, principal: Principal, request_id: UUID,
                           *, lock: bool = False) -> PlacementRequestRow:
    row = await repo.get_request(session, request_id, lock=lock)
    if not await may_see(session, principal, home_school_urn=row.home_school_urn,
                         zone_id=row.zone_id):
        raise PlacementRequestNotFound("No placement request with that id.")
    return row


@router.get("/v1/placements/requests/{request_id}", response_model=PlacementRequestRead)
async def read_placement_request(request_id: UUID, session: SessionDep, response: Response,
                                 principal: Reader) -> PlacementRequestRead:
    row = await _visible_request(session, principal, request_id)
    set_etag(response, row.version)
    return await request_read(session, row)


@router.post("/v1/placements/requests/{request_id}/cancel", response_model=PlacementRequestRead)
async def cancel_placement_request(request_id: UUID, session: SessionDep, if_match: IfMatch,
                                   response: Response, principal: Manager,
                                   context: ContextFactory) -> PlacementRequestRead:
    """Take a waiting (or not yet matched) request off the waiting list."""
    ctx = context(principal)
    row = await repo.get_request(session, request_id, lock=True)
    check_if_match(if_match, row.version)
    cancelled, event = repo.request_of(row).cancel("withdrawn", ctx.now())
    repo.save_request(row, cancelled, ctx.now())
    await session.flush()
    from lfi_placements.service.publishing import publish_request_event

    await publish_request_event(session, ctx, row, event)
    set_etag(response, row.version)
    return await request_read(session, row)


# -- placements -----------------------------------------------------------------------------

@router.post("/v1/placements/offers/expire-due", response_model=ExpiredOffers)
async def expire_due_offers(session: SessionDep, principal: Manager,
                            context: ContextFactory) -> ExpiredOffers:
    """Expire every offer past its expiry date now (the sweep worker does it periodically);
    each freed place is offered to the next waiting request."""
    return ExpiredOffers(expired=await lifecycle.expire_due_offers(session, context(principal)))


@router.get("/v1/placements", response_model=PlacementPage)
async def list_placements(
    session: SessionDep, page: PageQuery, principal: Reader,
    status: Annotated[PlacementStatus | None, Query()] = None,
    provision_id: Annotated[UUID | None, Query()] = None,
    child_id: Annotated[UUID | None, Query()] = None,
    request_id: Annotated[UUID | None, Query()] = None,
    home_school_urn: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
) -> PlacementPage:
    """Offers and placements the caller may see, newest offer last."""
    stmt = select(PlacementRow).where(await visibility(
        session, principal, home_school_urn=PlacementRow.home_school_urn,
        zone_id=PlacementRow.zone_id))
    for column, value in ((PlacementRow.status, status.value if status else None),
                          (PlacementRow.provision_id, provision_id),
                          (PlacementRow.child_id, child_id),
                          (PlacementRow.request_id, request_id),
                          (PlacementRow.home_school_urn, home_school_urn)):
        if value is not None:
            stmt = stmt.where(column == value)
    rows, next_cursor = await keyset_page(session, stmt,
                                          [PlacementRow.__table__.c.created_at,
                                           PlacementRow.__table__.c.id], page)
    return PlacementPage(items=[placement_read(r) for r in rows], next_cursor=next_cursor)


async def _visible_placement(session: AsyncSession, principal: Principal, placement_id: UUID,
                             *, lock: bool = False) -> PlacementRow:
    row = await repo.get_placement(session, placement_id, lock=lock)
    if not await may_see(session, principal, home_school_urn=row.home_school_urn,
                         zone_id=row.zone_id):
        raise PlacementNotFound("No placement with that id.")
    return row


@router.get("/v1/placements/{placement_id}", response_model=PlacementRead)
async def read_placement(placement_id: UUID, session: SessionDep, response: Response,
                         principal: Reader) -> PlacementRead:
    row = await _visible_placement(session, principal, placement_id)
    set_etag(response, row.version)
    return placement_read(row)


async def _for_change(session: AsyncSession, placement_id: UUID, if_match: str) -> PlacementRow:
    row = await repo.get_placement(session, placement_id, lock=True)
    check_if_match(if_match, row.version)
    return row


def _reply(response: Response, row: PlacementRow) -> PlacementRead:
    set_etag(response, row.version)
    return placement_read(row)


@router.post("/v1/placements/{placement_id}/accept", response_model=PlacementRead)
async def accept_offer(placement_id: UUID, body: AcceptOffer, session: SessionDep,
                       if_match: IfMatch, response: Response, principal: Manager,
                       context: ContextFactory) -> PlacementRead:
    """Record parental agreement (by role, never by name): the offer becomes a placement."""
    row = await _for_change(session, placement_id, if_match)
    await lifecycle.accept_offer(session, context(principal), row, given_by=body.given_by,
                                 agreed_on=body.agreed_on)
    return _reply(response, row)


@router.post("/v1/placements/{placement_id}/start", response_model=PlacementRead)
async def start_placement(placement_id: UUID, body: StartPlacement, session: SessionDep,
                          if_match: IfMatch, response: Response, principal: Manager,
                          context: ContextFactory) -> PlacementRead:
    row = await _for_change(session, placement_id, if_match)
    await lifecycle.start_placement(session, context(principal), row, started_on=body.started_on)
    return _reply(response, row)


@router.post("/v1/placements/{placement_id}/end", response_model=PlacementRead)
async def end_placement(placement_id: UUID, body: EndPlacement, session: SessionDep,
                        if_match: IfMatch, response: Response, principal: Manager,
                        context: ContextFactory) -> PlacementRead:
    """End an active placement with its outcome; the freed place is offered at once to the
    next suitable waiting request by priority."""
    row = await _for_change(session, placement_id, if_match)
    await lifecycle.end_placement(session, context(principal), row, ended_on=body.ended_on,
                                  outcome=body.outcome)
    return _reply(response, row)


async def _cancel(session: AsyncSession, placement_id: UUID, if_match: str,
                  response: Response, principal: Principal, context: ContextFactory,
                  reason: CancellationReason) -> PlacementRead:
    row = await _for_change(session, placement_id, if_match)
    await lifecycle.cancel_placement(session, context(principal), row, reason)
    return _reply(response, row)


@router.post("/v1/placements/{placement_id}/decline", response_model=PlacementRead)
async def decline_offer(placement_id: UUID, session: SessionDep, if_match: IfMatch,
                        response: Response, principal: Manager,
                        context: ContextFactory) -> PlacementRead:
    """The parents did not agree: the offer and its request close; the place goes on."""
    return await _cancel(session, placement_id, if_match, response, principal, context,
                         CancellationReason.DECLINED)


@router.post("/v1/placements/{placement_id}/withdraw", response_model=PlacementRead)
async def withdraw_offer(placement_id: UUID, session: SessionDep, if_match: IfMatch,
                         response: Response, principal: Manager,
                         context: ContextFactory) -> PlacementRead:
    """The council withdraws an offer or an accepted placement before it starts; the request
    waits again with its original time, and the place goes on."""
    return await _cancel(session, placement_id, if_match, response, principal, context,
                         CancellationReason.WITHDRAWN)


@router.post("/v1/placements/{placement_id}/expire", response_model=PlacementRead)
async def expire_offer(placement_id: UUID, session: SessionDep, if_match: IfMatch,
                       response: Response, principal: Manager,
                       context: ContextFactory) -> PlacementRead:
    """Close an unanswered offer after its expiry date (409 while it is still open)."""
    return await _cancel(session, placement_id, if_match, response, principal, context,
                         CancellationReason.EXPIRED)


@router.post("/v1/placements/{placement_id}/planned-end", response_model=PlacementRead)
async def change_planned_end(placement_id: UUID, body: ChangePlannedEnd, session: SessionDep,
                             if_match: IfMatch, response: Response, principal: Manager,
                             context: ContextFactory) -> PlacementRead:
    """Extend (or shorten) a placement; never past the maximum stay (422 naming the latest
    end allowed), never into a day with no place free (409)."""
    row = await _for_change(session, placement_id, if_match)
    await lifecycle.change_planned_end(session, context(principal), row,
                                       planned_end=body.planned_end)
    return _reply(response, row)
