"""Receiving placement requests, offering a place or waitlisting, and filling freed places.

Every offer is made with the provisions concerned locked (``SELECT … FOR UPDATE`` in id
order), so the free places counted are the free places committed; the database's capacity
trigger refuses any hold the count missed all the same (docs/adr-capacity.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from lfi_placements.db import repositories as repo
from lfi_placements.db.models import PlacementRequestRow, ProvisionRow
from lfi_placements.domain.capacity import free_places_over
from lfi_placements.domain.errors import (
    CalendarIncomplete,
    OverlappingPlacement,
    PlannedEndInvalid,
    ProvisionFull,
    ProvisionUnsuitable,
)
from lfi_placements.domain.matching import Candidate, choose_provision, next_waiting_request
from lfi_placements.domain.placement import Offer, OfferPolicy, Placement, offer_place
from lfi_placements.domain.provision import Provision
from lfi_placements.domain.request import PlacementRequest, waiting_list
from lfi_placements.domain.stay import StayRule
from lfi_placements.domain.vocabulary import ProvisionKind, RequestStatus
from lfi_placements.service.context import UseCaseContext
from lfi_placements.service.publishing import publish_placement_event, publish_request_event

_CANNOT_OFFER = (OverlappingPlacement, CalendarIncomplete, PlannedEndInvalid, ProvisionFull,
                 ProvisionUnsuitable)
"""What stops one request's offer without being anybody's mistake: it waits instead."""


@dataclass(frozen=True)
class NewRequest:
    """A placement request as it arrives (from a referral's event or the API)."""

    id: UUID
    child_id: UUID
    home_school_urn: str
    zone_id: UUID | None
    year_group: str
    needs: tuple[str, ...]
    provision_type: ProvisionKind
    priority: str
    requested_start: date
    requested_end: date | None
    referral_id: UUID | None = None
    source_event_id: UUID | None = None
    correlation_id: str | None = None


def _policy(ctx: UseCaseContext) -> OfferPolicy:
    return OfferPolicy(valid_days=ctx.settings.offer_valid_days)


def planned_end_for(stay: StayRule, start: date, requested_end: date | None) -> date | None:
    """The requested end when it still fits a stay starting on ``start``, else ``None`` (the
    longest stay allowed)."""
    if requested_end is None or requested_end < start:
        return None
    try:
        stay.check_planned_end(start, requested_end)
    except (PlannedEndInvalid, CalendarIncomplete):
        return None
    return requested_end


async def receive_request(session: AsyncSession, ctx: UseCaseContext, new: NewRequest
                          ) -> PlacementRequestRow:
    """Record a request, then offer it a place or put it on the waiting list.

    The caller has checked what a person must correct (dates, the maximum stay); here a
    request that cannot be offered a place for any reason waits.
    """
    now = ctx.now()
    zone_id = new.zone_id or await repo.school_zone(session, new.home_school_urn)
    row = PlacementRequestRow(
        id=new.id, referral_id=new.referral_id, source_event_id=new.source_event_id,
        child_id=new.child_id, home_school_urn=new.home_school_urn, zone_id=zone_id,
        year_group=new.year_group, needs=list(new.needs),
        provision_type=new.provision_type.value, priority=new.priority,
        requested_start=new.requested_start, requested_end=new.requested_end,
        requested_at=now, status=RequestStatus.RECEIVED.value, created_by=ctx.actor,
        correlation_id=new.correlation_id, version=1)
    session.add(row)
    await session.flush()
    request = repo.request_of(row)
    await publish_request_event(session, ctx, row, request.received())
    await offer_or_waitlist(session, ctx, row)
    return row


async def offer_or_waitlist(session: AsyncSession, ctx: UseCaseContext,
                            row: PlacementRequestRow) -> None:
    """Offer the best suitable provision with a place free over the whole stay, else waitlist."""
    request = repo.request_of(row)
    today = ctx.today()
    provisions = [repo.provision_of(p)
                  for p in await repo.lock_provisions_of_type(session, request.provision_type)]
    offer: Offer | None = None
    try:
        stay = await repo.stay_rule(session, request.provision_type)
        start = max(request.requested_start, today)
        end = planned_end_for(stay, start, row.requested_end) or stay.latest_end(start)
        held = await repo.holding_placements(session, [p.id for p in provisions], start)
        candidates = [Candidate(p, free_places_over(p, held, start, end)) for p in provisions]
        chosen = choose_provision(request.model_copy(update={"requested_start": start}),
                                  candidates, await repo.zone_distance(session))
        if chosen is not None:
            offer = offer_place(
                placement_id=uuid.uuid4(), request=request, provision=chosen.provision,
                stay=stay, free_places=chosen.free_places,
                child_placements=await repo.child_placements(session, request.child_id),
                policy=_policy(ctx), today=today, at=ctx.now(), start_date=start,
                planned_end=end)
    except _CANNOT_OFFER:
        offer = None
    if offer is not None:
        await _persist_offer(session, ctx, row, offer)
    else:
        await _waitlist(session, ctx, row, request)


async def _persist_offer(session: AsyncSession, ctx: UseCaseContext, row: PlacementRequestRow,
                         offer: Offer) -> None:
    session.add(repo.new_placement_row(offer.placement, row))
    repo.save_request(row, offer.request, ctx.now())
    await session.flush()
    await publish_placement_event(session, ctx, row, offer.event)


async def _waitlist(session: AsyncSession, ctx: UseCaseContext, row: PlacementRequestRow,
                    request: PlacementRequest) -> None:
    waiting, event = request.waitlist(ctx.now())
    repo.save_request(row, waiting, ctx.now())
    await session.flush()
    others = [repo.request_of(r) for r in await repo.waiting_request_rows(
        session, [request.provision_type])]
    ordered = waiting_list(others)
    position = next((i + 1 for i, r in enumerate(ordered) if r.id == row.id), None)
    await publish_request_event(session, ctx, row, event, position=position)


async def fill_free_places(session: AsyncSession, ctx: UseCaseContext, provision_id: UUID,
                           on: date, *, passing_over: UUID | None = None) -> list[UUID]:
    """Offer the places free at a provision from ``on`` to the waiting requests it suits, in
    waiting-list order (priority, then time of request). Returns the placements offered.

    Called in the transaction that freed a place (end, decline, expiry, withdrawal), raised
    capacity, or opened the provision; a request that cannot be offered the place (the child
    holds another placement then, the calendar is short) is passed over and keeps waiting, as
    is ``passing_over`` (the request whose own offer of this place just closed).
    """
    provision_row = await repo.get_provision(session, provision_id, lock=True)
    provision = repo.provision_of(provision_row)
    stay = await repo.stay_rule(session, provision.provision_type)
    start_from = max(on, ctx.today())
    rows = {r.id: r for r in await repo.waiting_request_rows(session, [provision.provision_type])}
    passed_over: set[UUID] = {passing_over} if passing_over else set()
    offered: list[UUID] = []
    while True:
        held = await repo.holding_placements(session, [provision.id], start_from)
        candidates = [repo.request_of(r) for i, r in rows.items() if i not in passed_over]
        match = next_waiting_request(provision, candidates, start_from,
                                     _free_from(provision, held, stay))
        if match is None:
            return offered
        row = rows[match.request.id]
        try:
            offer = offer_place(
                placement_id=uuid.uuid4(), request=match.request, provision=provision,
                stay=stay, free_places=1,
                child_placements=await repo.child_placements(session, row.child_id),
                policy=_policy(ctx), today=ctx.today(), at=ctx.now(),
                start_date=match.start_date,
                planned_end=planned_end_for(stay, match.start_date, row.requested_end))
        except _CANNOT_OFFER:
            passed_over.add(row.id)
            continue
        await _persist_offer(session, ctx, row, offer)
        offered.append(offer.placement.id)
        passed_over.add(row.id)


def _free_from(provision: Provision, held: list[Placement], stay: StayRule
               ) -> Callable[[date], int]:
    def free(start: date) -> int:
        try:
            end = stay.latest_end(start)
        except CalendarIncomplete:
            return 0
        return free_places_over(provision, held, start, end)
    return free


async def fill_all_provisions(session: AsyncSession, ctx: UseCaseContext) -> list[UUID]:
    """Offer every free place to waiting requests (after an opening, or as a sweep)."""
    offered: list[UUID] = []
    for kind in ProvisionKind:
        for provision in await repo.lock_provisions_of_type(session, kind):
            offered += await fill_free_places(session, ctx, provision.id, ctx.today())
    return offered


__all__ = ["NewRequest", "ProvisionRow", "fill_all_provisions", "fill_free_places",
           "offer_or_waitlist", "planned_end_for", "receive_request"]
