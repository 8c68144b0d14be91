"""Writing the placements domain's events to the outbox as their published contracts.

Every event carries the opaque ``child_id`` only. Events about a request that came from a
referral carry its ``referral_id``; the envelope's correlation id is the referral's journey id
when known (DESIGN §3), else the request's id.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts import placements as contracts
from lfi_placements.db.models import PlacementRequestRow, ProvisionRow, platform
from lfi_placements.domain import events as domain
from lfi_placements.service.context import UseCaseContext
from lfi_shared.messaging import EventContract, EventToRecord, record_events

SOURCE = "/lfi/placements"

RequestEvent = (domain.PlacementRequestReceived | domain.PlacementWaitlisted
                | domain.PlacementRequestCancelled)


async def record_all(session: AsyncSession, ctx: UseCaseContext,
                     events: Sequence[EventToRecord]) -> None:
    """Record events built by :func:`request_event` / :func:`placement_event`, in this order,
    with one statement."""
    await record_events(
        session, platform.messaging, ctx.settings,
        [e._replace(correlation_id=e.correlation_id or ctx.correlation_id) for e in events],
        traceparent=ctx.traceparent, source=SOURCE)


async def _record(session: AsyncSession, ctx: UseCaseContext, event: EventContract, *,
                  subject: str, correlation_id: str | None) -> None:
    await record_all(session, ctx, [EventToRecord(event, subject, correlation_id)])


def _correlation(request: PlacementRequestRow) -> str:
    return request.correlation_id or str(request.referral_id or request.id)


async def publish_request_event(
        session: AsyncSession, ctx: UseCaseContext, request: PlacementRequestRow,
        event: RequestEvent, *, position: int | None = None) -> None:
    """Record a request's event (received, waitlisted, cancelled)."""
    await record_all(session, ctx, [request_event(request, event, position=position)])


def request_event(request: PlacementRequestRow, event: RequestEvent, *,
                  position: int | None = None) -> EventToRecord:
    """A request's event (received, waitlisted, cancelled) as its published contract."""
    contract: EventContract
    if isinstance(event, domain.PlacementRequestReceived):
        contract = contracts.PlacementRequestReceived(
            request_id=request.id, referral_id=request.referral_id, child_id=request.child_id,
            provision_type=event.provision_type.value, priority=event.priority.value,
            home_school_urn=request.home_school_urn, requested_start=event.requested_start,
            received_at=event.occurred_at)
    elif isinstance(event, domain.PlacementWaitlisted):
        contract = contracts.PlacementWaitlisted(
            request_id=request.id, referral_id=request.referral_id, child_id=request.child_id,
            provision_type=event.provision_type.value, priority=event.priority.value,
            waitlisted_at=event.occurred_at, position=position)
    else:
        contract = contracts.PlacementRequestCancelled(
            request_id=request.id, referral_id=request.referral_id, child_id=request.child_id,
            reason=event.reason, cancelled_at=event.occurred_at)
    return EventToRecord(contract, str(request.id), _correlation(request))


async def publish_placement_event(
        session: AsyncSession, ctx: UseCaseContext, request: PlacementRequestRow,
        event: domain.PlacementEvent) -> None:
    """Record a placement's event (offered, accepted, started, ended, cancelled, extended)."""
    await record_all(session, ctx, [placement_event(request, event)])


def placement_event(request: PlacementRequestRow,
                    event: domain.PlacementEvent) -> EventToRecord:
    """A placement's event (offered, accepted, started, ended, cancelled, extended) as its
    published contract."""
    common = {
        "placement_id": event.placement_id, "request_id": request.id,
        "referral_id": request.referral_id, "child_id": request.child_id,
        "provision_id": event.provision_id, "provision_type": request.provision_type,
        "home_school_urn": request.home_school_urn,
    }
    contract: EventContract
    if isinstance(event, domain.PlacementOffered):
        contract = contracts.PlacementOffered(
            **common, start_on=event.start_date, planned_end_on=event.planned_end,
            offer_expires_on=event.offer_expires_on, offered_at=event.occurred_at)
    elif isinstance(event, domain.PlacementAccepted):
        contract = contracts.PlacementAccepted(**common, accepted_at=event.occurred_at)
    elif isinstance(event, domain.PlacementStarted):
        contract = contracts.PlacementStarted(**common, started_on=event.started_on,
                                              planned_end_on=event.planned_end)
    elif isinstance(event, domain.PlacementEnded):
        contract = contracts.PlacementEnded(**common, ended_on=event.ended_on,
                                            outcome=event.outcome.value)
    elif isinstance(event, domain.PlacementCancelled):
        contract = contracts.PlacementCancelled(**common, reason=event.reason.value,
                                                cancelled_at=event.occurred_at)
    else:
        contract = contracts.PlacementPlannedEndChanged(
            **common, previous_planned_end_on=event.previous_planned_end,
            planned_end_on=event.planned_end, changed_at=event.occurred_at)
    return EventToRecord(contract, str(event.placement_id), _correlation(request))


async def publish_capacity_changed(session: AsyncSession, ctx: UseCaseContext,
                                   provision: ProvisionRow,
                                   event: domain.ProvisionCapacityChanged) -> None:
    contract = contracts.ProvisionCapacityChanged(
        provision_id=provision.id, provision_type=provision.provision_type,
        previous_capacity=event.previous_capacity, capacity=event.capacity,
        changed_at=event.occurred_at)
    await _record(session, ctx, contract, subject=str(provision.id), correlation_id=None)
