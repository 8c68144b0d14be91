"""The referral's domain events as the published contracts (``lfi_contracts.referrals``),
written to the outbox in the caller's transaction (a referral's change: by the very statement
that stores the change, see :func:`referral_event_parameters`).

Every event carries codes and opaque ids only: never a name, date of birth, UPN or free text.
The envelope's correlation id is the referral's id (the journey's id across services).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts import referrals as contracts
from lfi_referrals.db.models import platform
from lfi_referrals.domain import events as domain
from lfi_referrals.domain.referral import Referral
from lfi_referrals.domain.subjects import ChildSubject, CohortSubject
from lfi_referrals.domain.support import PlacementPriority
from lfi_shared.messaging import EventContract, EventToRecord, record_event
from lfi_shared.messaging.outbox import outbox_parameters
from lfi_shared.settings import ServiceSettings

SOURCE = "/lfi/referrals"

# The placements service's word for "urgent" (see lfi_contracts.referrals.PlacementPriority).
PRIORITY_CONTRACT: dict[PlacementPriority, contracts.PlacementPriority] = {
    PlacementPriority.URGENT: "at_risk_of_permanent_exclusion",
    PlacementPriority.HIGH: "high",
    PlacementPriority.STANDARD: "standard",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContext:
    """What a published event takes from the request beyond the referral."""

    traceparent: str | None = None
    requested_start: date | None = None
    element3_amount: str | None = None
    element3_focus: str | None = None
    element3_needs_profile: dict[str, int] | None = None


def _base(referral: Referral) -> dict[str, object]:
    return {"referral_id": referral.id, "school_urn": referral.school_urn,
            "zone_id": referral.zone_id, "subject_kind": referral.subject.kind.value,
            "child_id": referral.child_id}


def to_contract(event: domain.ReferralEvent, referral: Referral,
                context: RequestContext) -> EventContract:
    """The published contract of a domain event on ``referral``.

    Raises:
        TypeError: for a domain event with no contract (a programming error).
    """
    base = _base(referral)
    at = event.occurred_at
    if isinstance(event, domain.ReferralSubmitted):
        return contracts.ReferralSubmitted(
            **base, support_requested=[s.value for s in event.support_requested],
            submitted_at=at, triage_due_on=event.triage_due_on)
    if isinstance(event, domain.ReferralTriaged):
        return contracts.ReferralTriaged(**base, triaged_at=at,
                                         practitioner_id=str(event.practitioner_id))
    if isinstance(event, domain.ReferralAccepted):
        return contracts.ReferralAccepted(
            **base, accepted_at=at, support_level=event.support_level.value,
            support_focus=event.support_focus.value, ep_hours=f"{event.ep_hours:.2f}",
            review_on=event.review_on)
    if isinstance(event, domain.ReferralSupportStarted):
        return contracts.ReferralSupportStarted(**base, started_at=at)
    if isinstance(event, domain.ReferralClosed):
        return contracts.ReferralClosed(**base, closed_at=at, outcome=event.outcome.value)
    if isinstance(event, domain.ReferralDeclined):
        return contracts.ReferralDeclined(**base, declined_at=at, reason=event.reason.value)
    if isinstance(event, domain.ReferralWithdrawn):
        return contracts.ReferralWithdrawn(**base, withdrawn_at=at, reason=event.reason.value)
    if isinstance(event, domain.ReferralPlacementRequested):
        return contracts.ReferralPlacementRequested(
            referral_id=referral.id, request_id=event.request_id, child_id=event.child_id,
            home_school_urn=event.school_urn, zone_id=event.zone_id,
            year_group=event.year_group.value,
            primary_need=event.needs[0].value if event.needs else None,
            needs=[n.value for n in event.needs], provision_type=event.provision_type.value,
            priority=PRIORITY_CONTRACT[event.priority],
            requested_start=context.requested_start or at.date(), requested_at=at)
    if isinstance(event, domain.ReferralElement3ReviewRequested):
        subject = referral.subject
        assert not isinstance(subject, ChildSubject)
        cohort = subject if isinstance(subject, CohortSubject) else None
        return contracts.ReferralElement3ReviewRequested(
            referral_id=referral.id, request_id=event.request_id, school_urn=event.school_urn,
            zone_id=event.zone_id,
            subject_kind="cohort" if cohort is not None else "whole_school",
            cohort_size=cohort.pupil_count if cohort else None,
            year_groups=sorted(y.value for y in cohort.year_groups) if cohort else [],
            needs_profile=context.element3_needs_profile or {},
            focus=context.element3_focus, amount_requested=context.element3_amount,
            requested_at=at)
    raise TypeError(f"no contract for {type(event).__name__}")


async def publish(session: AsyncSession, settings: ServiceSettings, contract: EventContract, *,
                  subject: str, correlation_id: UUID | str | None,
                  traceparent: str | None) -> None:
    """Write ``contract`` to the outbox (flushes, never commits)."""
    await record_event(session, platform.messaging, settings, contract, subject=subject,
                       correlation_id=str(correlation_id) if correlation_id else None,
                       traceparent=traceparent, source=SOURCE)


def referral_event_parameters(settings: ServiceSettings, referral: Referral,
                              events: tuple[domain.ReferralEvent, ...],
                              context: RequestContext) -> dict[str, Any]:
    """The outbox parameters (:func:`lfi_shared.messaging.outbox.outbox_parameters`) of each
    domain event of a change on ``referral``, in order, for a statement that writes the change
    and its events together (no events: no outbox row)."""
    subject = str(referral.id)
    _, parameters = outbox_parameters(
        platform.messaging, settings,
        [EventToRecord(to_contract(event, referral, context), subject, subject)
         for event in events],
        traceparent=context.traceparent, source=SOURCE)
    return parameters
