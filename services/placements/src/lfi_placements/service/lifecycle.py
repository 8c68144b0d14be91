"""The placement lifecycle as use cases: accept, start, end, decline, withdraw, expire, extend.

A place freed (ended, declined, expired, withdrawn) is offered at once, in the same
transaction, to the next suitable waiting request (:func:`fill_free_places`).
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_placements.db import repositories as repo
from lfi_placements.db.models import PlacementRequestRow, PlacementRow
from lfi_placements.domain.capacity import free_places_over
from lfi_placements.domain.errors import OfferStillOpen
from lfi_placements.domain.events import PlacementCancelled, PlacementEvent
from lfi_placements.domain.placement import ParentalAgreement, Placement
from lfi_placements.domain.vocabulary import (
    CancellationReason,
    EndOutcome,
    ParentalResponsibility,
    PlacementStatus,
)
from lfi_placements.service.context import UseCaseContext
from lfi_placements.service.placing import fill_free_places
from lfi_placements.service.publishing import publish_placement_event, publish_request_event


async def _save(session: AsyncSession, ctx: UseCaseContext, row: PlacementRow,
                 changed: Placement, event: PlacementEvent | None) -> PlacementRequestRow:
    request_row = await repo.get_request(session, row.request_id, lock=True)
    repo.save_placement(row, changed, ctx.now())
    await session.flush()
    if event is not None:
        await publish_placement_event(session, ctx, request_row, event)
    return request_row


async def accept_offer(session: AsyncSession, ctx: UseCaseContext, row: PlacementRow, *,
                       given_by: ParentalResponsibility, agreed_on: date) -> None:
    """Record parental agreement. Raises IllegalTransition, OfferExpired."""
    agreement = ParentalAgreement(given_by=given_by, agreed_on=agreed_on,
                                  recorded_by=ctx.actor, recorded_at=ctx.now())
    changed, event = repo.placement_of(row).accept(agreement, at=ctx.now())
    request_row = await _save(session, ctx, row, changed, event)
    placed = repo.request_of(request_row).mark_placed()
    repo.save_request(request_row, placed, ctx.now())


async def start_placement(session: AsyncSession, ctx: UseCaseContext, row: PlacementRow, *,
                          started_on: date) -> None:
    """The child started. Raises IllegalTransition, InvalidRequest."""
    changed, event = repo.placement_of(row).start(started_on, at=ctx.now())
    await _save(session, ctx, row, changed, event)


async def end_placement(session: AsyncSession, ctx: UseCaseContext, row: PlacementRow, *,
                        ended_on: date, outcome: EndOutcome) -> list[UUID]:
    """End an active placement with its outcome, and offer the freed place. Raises
    IllegalTransition, InvalidRequest. Returns the placements offered with the freed place."""
    changed, event = repo.placement_of(row).end(ended_on, outcome, at=ctx.now())
    await _save(session, ctx, row, changed, event)
    return await fill_free_places(session, ctx, row.provision_id,
                                  ended_on + timedelta(days=1))


async def cancel_placement(session: AsyncSession, ctx: UseCaseContext, row: PlacementRow,
                           reason: CancellationReason) -> list[UUID]:
    """Decline, withdraw or expire an offer (or withdraw an accepted placement); the request
    waits again (or closes when declined), and the freed place is offered on. Raises
    IllegalTransition, OfferStillOpen."""
    placement = repo.placement_of(row)
    now = ctx.now()
    changed: Placement
    event: PlacementCancelled
    if reason is CancellationReason.DECLINED:
        changed, event = placement.decline(at=now)
    elif reason is CancellationReason.WITHDRAWN:
        changed, event = placement.withdraw(at=now)
    else:
        changed, event = placement.expire(today=ctx.today(), at=now)
    request_row = await _save(session, ctx, row, changed, event)
    request = repo.request_of(request_row)
    after, request_event = request.after_offer_closed(reason, now)
    repo.save_request(request_row, after, now)
    await session.flush()
    await publish_request_event(session, ctx, request_row, request_event)
    # The place goes to the next request, not straight back to the one whose offer closed.
    return await fill_free_places(session, ctx, row.provision_id, ctx.today(),
                                  passing_over=row.request_id)


async def change_planned_end(session: AsyncSession, ctx: UseCaseContext, row: PlacementRow, *,
                             planned_end: date) -> list[UUID]:
    """Extend (or shorten) a placement within the maximum stay. Raises PlannedEndInvalid,
    CalendarIncomplete, OverlappingPlacement, ProvisionFull, IllegalTransition. A shortening
    frees places, offered on at once."""
    await repo.get_provision(session, row.provision_id, lock=True)
    placement = repo.placement_of(row)
    stay = await repo.stay_rule(session, placement.provision_type)
    provision = repo.provision_of(await repo.get_provision(session, row.provision_id))
    free = 0
    if planned_end > placement.planned_end:
        others = [p for p in await repo.holding_placements(session, [provision.id])
                  if p.id != placement.id]
        free = free_places_over(provision, others, placement.planned_end + timedelta(days=1),
                                planned_end)
    changed, event = placement.change_planned_end(
        planned_end, stay=stay, free_places=free,
        child_placements=await repo.child_placements(session, placement.child_id),
        at=ctx.now())
    if event is None:
        return []
    await _save(session, ctx, row, changed, event)
    if planned_end < placement.planned_end:
        return await fill_free_places(session, ctx, row.provision_id,
                                      planned_end + timedelta(days=1))
    return []


async def expire_due_offers(session: AsyncSession, ctx: UseCaseContext, *,
                            limit: int = 100) -> list[UUID]:
    """Expire the offers whose expiry date has passed (oldest first, up to ``limit``) and offer
    their places on. Returns the expired placements' ids."""
    stmt = (select(PlacementRow)
            .where(PlacementRow.status == PlacementStatus.OFFERED.value,
                   PlacementRow.offer_expires_on < ctx.today())
            .order_by(PlacementRow.offer_expires_on, PlacementRow.id)
            .limit(limit).with_for_update(skip_locked=True))
    expired: list[UUID] = []
    for row in (await session.execute(stmt)).scalars().all():
        try:
            await cancel_placement(session, ctx, row, CancellationReason.EXPIRED)
        except OfferStillOpen:  # pragma: no cover - excluded by the query
            continue
        expired.append(row.id)
    return expired
