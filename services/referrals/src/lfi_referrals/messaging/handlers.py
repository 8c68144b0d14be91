"""Placement and funding outcomes, consumed from their producers' streams, shown on the
referral (journey step 7).

Each handler runs in the consumer's transaction together with the inbox row, so a redelivered
event (same id) never runs twice; :func:`domain.outcomes.apply_outcome` also ignores an outcome
that is not newer than what is shown, so out-of-order events settle the same way. A referral's
version (its ETag) moves only when what it shows changes. Events about no referral of ours
(a placement requested elsewhere) are acknowledged and ignored.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts import funding, placements
from lfi_referrals.db.mapping import shown_funding_json, shown_placement_json
from lfi_referrals.db.models import Element3ReviewRow, PlacementRequestRow
from lfi_referrals.domain import referral as domain
from lfi_referrals.domain.outcomes import (
    FundingOutcome,
    FundingStatus,
    Outcome,
    PlacementEndReason,
    PlacementOutcome,
    PlacementStatus,
)
from lfi_referrals.service.referrals import load_referral, now, pence_of
from lfi_shared.http.problems import NotFound
from lfi_shared.messaging import Envelope
from lfi_shared.messaging.consumer import Handler
from lfi_shared.messaging.workers import Subscription

END_REASON: dict[str, PlacementEndReason] = {
    "returned_to_home_school": PlacementEndReason.RETURNED_TO_HOME_SCHOOL,
    "new_mainstream_school": PlacementEndReason.MOVED_TO_NEW_SCHOOL,
    "specialist_provision": PlacementEndReason.SPECIALIST_PROVISION,
    "post_16": PlacementEndReason.POST16_DESTINATION,
    "other": PlacementEndReason.OTHER,
}


async def _referral_of_request(session: AsyncSession, referral_id: UUID | None,
                               request_id: UUID) -> UUID | None:
    if referral_id is not None:
        return referral_id
    return (await session.scalars(select(PlacementRequestRow.referral_id)
                                  .where(PlacementRequestRow.request_id == request_id))).first()


async def show_outcome(session: AsyncSession, referral_id: UUID | None, outcome: Outcome) -> bool:
    """Show ``outcome`` on the referral; whether what it shows changed."""
    if referral_id is None:
        return False
    try:
        loaded = await load_referral(session, referral_id, for_update=True)
    except NotFound:
        return False
    before = (loaded.row.shown_placement, loaded.row.shown_funding)
    shown = domain.record_outcome(loaded.referral, outcome).referral.shown
    after = (shown_placement_json(shown.placement), shown_funding_json(shown.funding))
    if after == before:
        return False
    loaded.row.shown_placement, loaded.row.shown_funding = after
    loaded.row.version += 1
    loaded.row.updated_at = now()
    await session.flush()
    return True


def _placement(envelope: Envelope, request_id: UUID, status: PlacementStatus, *,
               provision_id: UUID | None = None, starts_on: date | None = None,
               ends_on: date | None = None,
               end_reason: PlacementEndReason | None = None) -> PlacementOutcome:
    return PlacementOutcome(event_id=envelope.event_id, occurred_at=envelope.time,
                            request_id=request_id, status=status, provision_id=provision_id,
                            starts_on=starts_on, ends_on=ends_on, end_reason=end_reason)


async def on_waitlisted(session: AsyncSession, envelope: Envelope) -> None:
    event = placements.PlacementWaitlisted.from_envelope(envelope)
    await show_outcome(session, await _referral_of_request(session, event.referral_id,
                                                           event.request_id),
                       _placement(envelope, event.request_id, PlacementStatus.WAITLISTED))


async def on_request_cancelled(session: AsyncSession, envelope: Envelope) -> None:
    event = placements.PlacementRequestCancelled.from_envelope(envelope)
    await show_outcome(session, await _referral_of_request(session, event.referral_id,
                                                           event.request_id),
                       _placement(envelope, event.request_id, PlacementStatus.CANCELLED))


async def on_offered(session: AsyncSession, envelope: Envelope) -> None:
    event = placements.PlacementOffered.from_envelope(envelope)
    await show_outcome(session, await _referral_of_request(session, event.referral_id,
                                                           event.request_id),
                       _placement(envelope, event.request_id, PlacementStatus.OFFERED,
                                  provision_id=event.provision_id, starts_on=event.start_on,
                                  ends_on=event.planned_end_on))


async def on_accepted(session: AsyncSession, envelope: Envelope) -> None:
    event = placements.PlacementAccepted.from_envelope(envelope)
    await show_outcome(session, await _referral_of_request(session, event.referral_id,
                                                           event.request_id),
                       _placement(envelope, event.request_id, PlacementStatus.ACCEPTED,
                                  provision_id=event.provision_id))


async def on_started(session: AsyncSession, envelope: Envelope) -> None:
    event = placements.PlacementStarted.from_envelope(envelope)
    await show_outcome(session, await _referral_of_request(session, event.referral_id,
                                                           event.request_id),
                       _placement(envelope, event.request_id, PlacementStatus.STARTED,
                                  provision_id=event.provision_id, starts_on=event.started_on,
                                  ends_on=event.planned_end_on))


async def on_ended(session: AsyncSession, envelope: Envelope) -> None:
    event = placements.PlacementEnded.from_envelope(envelope)
    await show_outcome(session, await _referral_of_request(session, event.referral_id,
                                                           event.request_id),
                       _placement(envelope, event.request_id, PlacementStatus.ENDED,
                                  provision_id=event.provision_id, ends_on=event.ended_on,
                                  end_reason=END_REASON[event.outcome]))


async def on_placement_cancelled(session: AsyncSession, envelope: Envelope) -> None:
    event = placements.PlacementCancelled.from_envelope(envelope)
    await show_outcome(session, await _referral_of_request(session, event.referral_id,
                                                           event.request_id),
                       _placement(envelope, event.request_id, PlacementStatus.CANCELLED,
                                  provision_id=event.provision_id))


async def _referral_of_application(session: AsyncSession, referral_id: UUID | None,
                                   school_urn: str) -> UUID | None:
    if referral_id is None:
        return None
    exists = await session.scalar(select(Element3ReviewRow.referral_id)
                                  .where(Element3ReviewRow.referral_id == referral_id).limit(1))
    return exists


async def on_application_submitted(session: AsyncSession, envelope: Envelope) -> None:
    event = funding.ApplicationSubmitted.from_envelope(envelope)
    await show_outcome(session, await _referral_of_application(session, event.referral_id,
                                                               event.school_urn),
                       FundingOutcome(event_id=envelope.event_id, occurred_at=envelope.time,
                                      application_id=event.application_id,
                                      status=FundingStatus.APPLICATION_OPENED))


async def on_application_decided(session: AsyncSession, envelope: Envelope) -> None:
    event = funding.ApplicationDecided.from_envelope(envelope)
    status = FundingStatus(event.outcome)
    awarded = pence_of(event.amount_awarded) if status is not FundingStatus.DECLINED else None
    await show_outcome(session, await _referral_of_application(session, event.referral_id,
                                                               event.school_urn),
                       FundingOutcome(event_id=envelope.event_id, occurred_at=envelope.time,
                                      application_id=event.application_id, status=status,
                                      awarded_pence=awarded))


PLACEMENT_HANDLERS: dict[str, Handler] = {
    placements.PlacementWaitlisted.event_type: on_waitlisted,
    placements.PlacementRequestCancelled.event_type: on_request_cancelled,
    placements.PlacementOffered.event_type: on_offered,
    placements.PlacementAccepted.event_type: on_accepted,
    placements.PlacementStarted.event_type: on_started,
    placements.PlacementEnded.event_type: on_ended,
    placements.PlacementCancelled.event_type: on_placement_cancelled,
}
FUNDING_HANDLERS: dict[str, Handler] = {
    funding.ApplicationSubmitted.event_type: on_application_submitted,
    funding.ApplicationDecided.event_type: on_application_decided,
}


def subscriptions(options: dict[str, float | int] | None = None) -> list[Subscription]:
    """The referrals service's consumers: placement and funding outcomes."""
    extra = options or {}
    return [
        Subscription(name="referrals-placement-outcomes", producer="placements",
                     handlers=PLACEMENT_HANDLERS,
                     event_filter=["lfi.placements.request.>", "lfi.placements.placement.>"],
                     options=extra),
        Subscription(name="referrals-funding-outcomes", producer="funding",
                     handlers=FUNDING_HANDLERS, event_filter="lfi.funding.application.>",
                     options=extra),
    ]
