"""Receiving placement requests, offering a place or waitlisting, and filling freed places.

Every offer is made with the provisions concerned locked in id order (``FOR NO KEY UPDATE``
for a new request, ``FOR UPDATE`` when freed or added places are filled), so the free places
counted are the free places committed; the database's capacity trigger refuses any hold the
count missed all the same. A request is waitlisted under ``FOR KEY SHARE``, which keeps out
whatever frees or adds places until it commits (docs/adr-capacity.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from lfi_placements.db import repositories as repo
from lfi_placements.db.models import PlacementRequestRow, PlacementRow, ProvisionRow
from lfi_placements.db.repositories import ProvisionLock
from lfi_placements.domain.capacity import free_places_over
from lfi_placements.domain.errors import (
    CalendarIncomplete,
    OverlappingPlacement,
    PlannedEndInvalid,
    ProvisionFull,
    ProvisionUnsuitable,
)
from lfi_placements.domain.events import PlacementWaitlisted
from lfi_placements.domain.matching import (
    Candidate,
    ZoneDistance,
    choose_provision,
    next_waiting_request,
)
from lfi_placements.domain.placement import Offer, OfferPolicy, Placement, offer_place
from lfi_placements.domain.provision import Provision
from lfi_placements.domain.request import PlacementRequest
from lfi_placements.domain.stay import StayRule
from lfi_placements.domain.vocabulary import ProvisionKind, RequestStatus
from lfi_placements.service.context import UseCaseContext
from lfi_placements.service.publishing import placement_event, record_all, request_event
from lfi_shared.messaging import EventToRecord

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


@dataclass(frozen=True)
class Received:
    """A request as recorded, and the placement offered to it (``None``: it waits)."""

    request: PlacementRequestRow
    placement: PlacementRow | None


async def receive_request(session: AsyncSession, ctx: UseCaseContext, new: NewRequest
                          ) -> Received:
    """Record a request, then offer it a place or put it on the waiting list.

    The caller has checked what a person must correct (dates, the maximum stay); here a
    request that cannot be offered a place for any reason waits. The request's row is written
    with its outcome (see :func:`offer_or_waitlist`), and its two events (received, then
    offered or waitlisted) with one statement.
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
    received = request_event(row, repo.request_of(row).received())
    placement = await offer_or_waitlist(session, ctx, row, earlier=[received])
    return Received(request=row, placement=placement)


@dataclass(frozen=True)
class _Stay:
    """When a request's stay would be, by the rule of its type (read before any lock)."""

    rule: StayRule
    start: date
    end: date


async def offer_or_waitlist(session: AsyncSession, ctx: UseCaseContext,
                            row: PlacementRequestRow, *, earlier: Sequence[EventToRecord] = ()
                            ) -> PlacementRow | None:
    """Offer the best suitable provision with a place free over the whole stay, else waitlist;
    the placement offered, if any.

    ``row`` is new (not in the session): it is written with its outcome, and ``earlier`` (its
    arrival's event) recorded before the outcome's event.

    The provisions of the type are first locked ``FOR KEY SHARE`` (id order) and the places
    held counted: when none is free the request is waitlisted under that lock, which any
    number of requests hold at once, beside an offer being made, and which keeps out whatever
    frees or adds a place there (an end, a decline, a capacity change, an opening: they all
    lock those rows ``FOR UPDATE`` first) until the waitlisting commits; they then find the
    request on the waiting list. When a place is free, that lock is let go (rolled back to a
    savepoint taken before it) and the offer is made with the provisions locked
    ``FOR NO KEY UPDATE``, the places counted again, the best one offered. Offers of one type
    are serialised among themselves; waitlistings neither wait for them nor hold them up
    (``FOR KEY SHARE`` does not conflict with ``FOR NO KEY UPDATE``, nor with the capacity
    trigger's update of the provision's row), so an offer is never starved by a stream of
    waitlistings.

    The statement taking the shared lock writes the request's row as waiting as well (most
    requests wait once the places are taken); rolling back to the savepoint undoes it with
    the lock when a place is free.
    """
    request = repo.request_of(row)
    stay = await _stay_of(session, ctx, request, row)
    facts = _Facts(session, request.child_id)
    at = ctx.now()
    waiting, waitlisted = request.waitlist(at)
    as_waiting = repo.new_request_values(row, waiting, at)
    await repo.mark_before_locks(session)
    for attempt in range(1, _OFFER_ATTEMPTS + 1):
        counted = await _count(session, request, stay, ProvisionLock.WAITLIST, facts,
                               writing=as_waiting)
        if counted.chosen is None:
            # Its row written, under the shared locks, held to the end of the transaction.
            await _waitlist(session, ctx, row, (waiting, waitlisted), at, counted.position,
                            earlier, written=True)
            return None
        await repo.let_go_of_locks(session)  # the shared locks, before asking for the offer's
        assert stay is not None
        # Read before queueing for the offer's lock, so as to hold it for as short as may be
        # (the database's triggers stand behind the child's placements read here).
        child_placements = await facts.child_placements()
        counted = await _count(session, request, stay, ProvisionLock.OFFER, facts)
        offer = _offer_of(ctx, counted.chosen, request, stay, child_placements)
        if offer is not None:
            return await _persist_offer(session, ctx, row, offer, earlier, new_request=True)
        # Until the last attempt, when the places counted are gone to the offers made
        # meanwhile, the offer's lock is let go at once and the request waits beside the
        # offers, not in their queue.
        if attempt < _OFFER_ATTEMPTS:
            await repo.let_go_of_locks(session)
    await _waitlist(session, ctx, row, (waiting, waitlisted), at, counted.position, earlier,
                    written=False)  # under the offer's lock
    return None


_OFFER_ATTEMPTS = 3
"""How many times a request that counted a free place queues for the offer's lock before it
waits under that lock (which then keeps out what frees places until it commits)."""


class _Facts:
    """What an offer needs that no provision lock protects, read once for a request."""

    def __init__(self, session: AsyncSession, child_id: UUID) -> None:
        self._session = session
        self._child_id = child_id
        self._distance: ZoneDistance | None = None
        self._child_placements: list[Placement] | None = None

    async def distance(self) -> ZoneDistance:
        if self._distance is None:
            self._distance = await repo.zone_distance(self._session)
        return self._distance

    async def child_placements(self) -> list[Placement]:
        if self._child_placements is None:
            self._child_placements = await repo.child_placements(self._session, self._child_id)
        return self._child_placements


async def _stay_of(session: AsyncSession, ctx: UseCaseContext, request: PlacementRequest,
                   row: PlacementRequestRow) -> _Stay | None:
    """The stay a request would start, or ``None`` when none can be offered (the calendar is
    short)."""
    try:
        rule = await repo.stay_rule(session, request.provision_type)
        start = max(request.requested_start, ctx.today())
        end = planned_end_for(rule, start, row.requested_end) or rule.latest_end(start)
    except _CANNOT_OFFER:
        return None
    return _Stay(rule=rule, start=start, end=end)


@dataclass(frozen=True)
class _Count:
    """The provision to offer on the places held when counted (``None``: the request waits),
    and the place the request would take on the waiting list then."""

    chosen: Candidate | None
    position: int


async def _count(session: AsyncSession, request: PlacementRequest, stay: _Stay | None,
                 lock: ProvisionLock, facts: _Facts, *,
                 writing: dict[str, Any] | None = None) -> _Count:
    """Lock the provisions of the request's type (even when no stay can be offered), writing
    the request's row (``writing``) with the same statement if given, then count the places
    held now and the requests waiting ahead of this one."""
    provisions = await repo.lock_provisions(session, request.provision_type, lock,
                                            writing=writing)
    if stay is None:
        return _Count(None, await repo.waiting_list_position(session, request))
    held, position = await repo.holds_from(session, [p.id for p in provisions], stay.start,
                                           request)
    try:
        candidates = [Candidate(p, free_places_over(p, held, stay.start, stay.end))
                      for p in provisions]
        if not any(c.free_places > 0 for c in candidates):
            return _Count(None, position)  # nothing to rank: no need of the distances
        return _Count(choose_provision(
            request.model_copy(update={"requested_start": stay.start}), candidates,
            await facts.distance()), position)
    except _CANNOT_OFFER:
        return _Count(None, position)


def _offer_of(ctx: UseCaseContext, chosen: Candidate | None,
                                  request: PlacementRequest, stay: _Stay,
                                  child_placements: list[Placement]) -> Offer | None:
    """With the provisions of the type locked for an offer: the offer of the place chosen on
    the places held then, or ``None`` when none is left (or the child cannot take it)."""
    if chosen is None:
        return None
    try:
        return offer_place(
            placement_id=uuid.uuid4(), request=request, provision=chosen.provision,
            stay=stay.rule, free_places=chosen.free_places, child_placements=child_placements,
            policy=_policy(ctx), today=ctx.today(), at=ctx.now(), start_date=stay.start,
            planned_end=stay.end)
    except _CANNOT_OFFER:
        return None


async def _persist_offer(session: AsyncSession, ctx: UseCaseContext, row: PlacementRequestRow,
                         offer: Offer, earlier: Sequence[EventToRecord] = (), *,
                         new_request: bool = False) -> PlacementRow:
    placement = repo.new_placement_row(offer.placement, row)
    repo.save_request(row, offer.request, ctx.now())
    if new_request:
        await repo.insert_request(session, row)
    else:
        session.add(row)
        await session.flush()  # the request first: the offer refers to it
    session.add(placement)
    await session.flush()
    await record_all(session, ctx, [*earlier, placement_event(row, offer.event)])
    return placement


async def _waitlist(session: AsyncSession, ctx: UseCaseContext, row: PlacementRequestRow,
                    waitlisting: tuple[PlacementRequest, PlacementWaitlisted], at: datetime,
                    position: int, earlier: Sequence[EventToRecord], *, written: bool) -> None:
    """Record a new request as waiting, ``position`` on the waiting list (the requests ahead
    of it, counted before it committed), its row already ``written`` by the count's statement
    or written now."""
    waiting, event = waitlisting
    repo.save_request(row, waiting, at)
    if not written:
        await repo.insert_request(session, row)
    await record_all(session, ctx, [*earlier, request_event(row, event, position=position)])


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


__all__ = ["NewRequest", "ProvisionRow", "Received", "fill_all_provisions", "fill_free_places",
           "offer_or_waitlist", "planned_end_for", "receive_request"]
