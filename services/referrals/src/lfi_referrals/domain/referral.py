"""The referral aggregate: a school's request to its Team Around the School (TAS), and every
transition of it, as pure functions.

Each transition takes the referral and the command's data and returns a :class:`ReferralChange`:
the new referral and the domain events to record (see :mod:`.events`). Nothing is mutated and
nothing is stored; the service layer persists the referral and writes the events to its outbox in
one transaction. Every transition first checks the status (see :mod:`.lifecycle`), so an illegal
action raises :class:`TransitionNotAllowed` (409) before any content rule is judged; content
faults raise :class:`InvalidReferral` (422) listing every field at fault, with field paths as the
API names them (``body.child.upn``, ``body.support_plan.review_on``, ...).

Moments (``at``) carry a UTC offset; dates a person means ("accepted today") are the local date
in the policy's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from uuid import UUID

from lfi_referrals.domain.errors import (
    Fault,
    InvalidReferral,
    RequestAlreadyOpen,
    raise_invalid,
)
from lfi_referrals.domain.events import (
    ReferralAccepted,
    ReferralClosed,
    ReferralDeclined,
    ReferralElement3ReviewRequested,
    ReferralEvent,
    ReferralPlacementRequested,
    ReferralSubmitted,
    ReferralSupportStarted,
    ReferralTriaged,
    ReferralWithdrawn,
)
from lfi_referrals.domain.identifiers import urn_fault
from lfi_referrals.domain.lifecycle import ReferralAction, ReferralStatus, next_status
from lfi_referrals.domain.outcomes import (
    Outcome,
    ShownOutcomes,
    apply_outcome,
    funding_is_pending,
    placement_is_open,
    show_element3_review_requested,
    show_placement_requested,
)
from lfi_referrals.domain.policy import ReferralPolicy, require_aware
from lfi_referrals.domain.subjects import ChildSubject, ReferralSubject, subject_faults
from lfi_referrals.domain.support import (
    ClosureOutcome,
    DeclineReason,
    ParentalAgreement,
    PlacementPriority,
    ProvisionType,
    SupportPlan,
    SupportRequest,
    WithdrawalReason,
    WithdrawnBy,
    needs_parental_agreement,
    parental_agreement_faults,
    reason_note_faults,
    support_plan_faults,
    support_request_faults,
)
from lfi_referrals.domain.working_days import is_overdue, triage_due_date
from lfi_shared.http.problems import FieldError

# ------------------------------------------------------------------------------ the records


@dataclass(frozen=True, slots=True, kw_only=True)
class DraftDetails:
    """What the school writes, and may change until it submits. ``concerns`` is free text."""

    subject: ReferralSubject
    support_requested: frozenset[SupportRequest]
    concerns: str | None = field(repr=False)
    parental_agreement: ParentalAgreement | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Triage:
    practitioner_id: UUID
    triaged_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Acceptance:
    accepted_at: datetime
    plan: SupportPlan


@dataclass(frozen=True, slots=True, kw_only=True)
class Closure:
    closed_at: datetime
    outcome: ClosureOutcome
    note: str | None = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Decline:
    declined_at: datetime
    reason: DeclineReason
    note: str | None = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawal:
    withdrawn_at: datetime
    reason: WithdrawalReason
    note: str | None = field(repr=False)
    withdrawn_by: WithdrawnBy


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacementRequest:
    request_id: UUID
    provision_type: ProvisionType
    priority: PlacementPriority
    requested_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Element3ReviewRequest:
    request_id: UUID
    requested_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Referral:
    """A TAS referral about a child, a cohort or the whole school of ``school_urn``.

    ``zone_id`` is the school's zone when the referral was made. Fields for later stages stay
    ``None`` until the referral gets there; ``shown`` is the placement and funding outcome it
    shows; ``anonymised_at`` is set once personal data and free text are dropped. Free text
    (concerns, notes) is left out of ``repr`` as the child's identity is, so a logged or printed
    referral shows no personal data.
    """

    id: UUID
    school_urn: str
    zone_id: UUID
    status: ReferralStatus
    created_at: datetime
    subject: ReferralSubject
    support_requested: frozenset[SupportRequest]
    concerns: str | None = field(repr=False)
    parental_agreement: ParentalAgreement | None
    submitted_at: datetime | None = None
    triage_due_on: date | None = None
    triage: Triage | None = None
    acceptance: Acceptance | None = None
    support_started_at: datetime | None = None
    closure: Closure | None = None
    decline: Decline | None = None
    withdrawal: Withdrawal | None = None
    placement_requests: tuple[PlacementRequest, ...] = ()
    element3_reviews: tuple[Element3ReviewRequest, ...] = ()
    shown: ShownOutcomes = field(default_factory=ShownOutcomes)
    anonymised_at: datetime | None = None

    @property
    def child_id(self) -> UUID | None:
        """The opaque id of the child referred, or ``None`` for a cohort or the whole school."""
        return self.subject.child_id if isinstance(self.subject, ChildSubject) else None

    @property
    def finished_at(self) -> datetime | None:
        """When the referral was closed, declined or withdrawn; ``None`` while it is live."""
        if self.closure is not None:
            return self.closure.closed_at
        if self.decline is not None:
            return self.decline.declined_at
        if self.withdrawal is not None:
            return self.withdrawal.withdrawn_at
        return None


@dataclass(frozen=True, slots=True)
class ReferralChange:
    """A transition's result: the referral as it now is, and the events to record."""

    referral: Referral
    events: tuple[ReferralEvent, ...] = ()


# ----------------------------------------------------------------------------- the rules


def _draft_faults(school_urn: str, details: DraftDetails, on: date) -> list[FieldError]:
    """What even a draft may not hold; completeness is judged on submission."""
    errors: list[FieldError] = []
    if (fault := urn_fault(school_urn)) is not None:
        errors.append(fault.at("body.school_urn"))
    errors += subject_faults(details.subject, on=on)
    errors += support_request_faults(details.subject.kind, details.support_requested)
    if details.parental_agreement is not None:
        if not isinstance(details.subject, ChildSubject):
            errors.append(Fault("agreement_for_child_only",
                                "Parental agreement is recorded only on a child referral.")
                          .at("body.parental_agreement"))
        errors += parental_agreement_faults(details.parental_agreement, on=on)
    return errors


def _submission_faults(referral: Referral, on: date) -> list[FieldError]:
    details = DraftDetails(subject=referral.subject,
                           support_requested=referral.support_requested,
                           concerns=referral.concerns,
                           parental_agreement=referral.parental_agreement)
    errors = _draft_faults(referral.school_urn, details, on)
    if not referral.support_requested:
        errors.append(Fault("missing", "Say what support the school is asking for.")
                      .at("body.support_requested"))
    if not (referral.concerns and referral.concerns.strip()):
        errors.append(Fault("missing", "Describe the school's concerns.").at("body.concerns"))
    if needs_parental_agreement(referral.support_requested) and referral.parental_agreement is None:
        errors.append(Fault("parental_agreement_required",
                            "Parents must agree before an EIB or APC place is requested.")
                      .at("body.parental_agreement"))
    return errors


def _ok(referral: Referral, *events: ReferralEvent) -> ReferralChange:
    return ReferralChange(referral=referral, events=tuple(events))


# ---------------------------------------------------------------------------- transitions


def draft_referral(*, referral_id: UUID, school_urn: str, zone_id: UUID, details: DraftDetails,
                   at: datetime, policy: ReferralPolicy) -> ReferralChange:
    """Start a referral as a draft of the school's. Produces no event.

    Raises:
        InvalidReferral: if the URN, the subject (child identity, census codes, cohort), the
            support requested for this kind of subject, or the parental agreement is at fault.
    """
    on = policy.local_date(at)
    raise_invalid("The referral is not valid.", _draft_faults(school_urn, details, on))
    return _ok(Referral(
        id=referral_id, school_urn=school_urn, zone_id=zone_id, status=ReferralStatus.DRAFT,
        created_at=at, subject=details.subject, support_requested=details.support_requested,
        concerns=details.concerns, parental_agreement=details.parental_agreement))


def amend_draft(referral: Referral, *, details: DraftDetails, at: datetime,
                policy: ReferralPolicy) -> ReferralChange:
    """Replace a draft's details. Produces no event.

    Raises:
        TransitionNotAllowed: unless the referral is a draft.
        InvalidReferral: as :func:`draft_referral`.
    """
    next_status(referral.status, ReferralAction.AMEND)
    raise_invalid("The referral is not valid.",
                  _draft_faults(referral.school_urn, details, policy.local_date(at)))
    return _ok(replace(referral, subject=details.subject,
                       support_requested=details.support_requested, concerns=details.concerns,
                       parental_agreement=details.parental_agreement))


def submit(referral: Referral, *, at: datetime, policy: ReferralPolicy) -> ReferralChange:
    """Submit a draft to TAS, due for triage ``policy.triage_working_days`` working days on.

    Raises:
        TransitionNotAllowed: unless the referral is a draft.
        InvalidReferral: if anything a draft may lack is missing (support requested, concerns,
            parental agreement when an EIB or APC place is requested) or any draft rule fails.
    """
    status = next_status(referral.status, ReferralAction.SUBMIT)
    submitted_on = policy.local_date(at)
    raise_invalid("The referral cannot be submitted yet.",
                  _submission_faults(referral, submitted_on))
    due = triage_due_date(submitted_on, policy.triage_working_days, policy.closure_dates)
    submitted = replace(referral, status=status, submitted_at=at, triage_due_on=due)
    return _ok(submitted, ReferralSubmitted(
        referral_id=referral.id, occurred_at=at, school_urn=referral.school_urn,
        zone_id=referral.zone_id, subject_kind=referral.subject.kind, child_id=referral.child_id,
        support_requested=tuple(sorted(referral.support_requested)), triage_due_on=due))


def triage(referral: Referral, *, practitioner_id: UUID, at: datetime) -> ReferralChange:
    """Record that ``practitioner_id`` of TAS has triaged the referral.

    Raises:
        TransitionNotAllowed: unless the referral is submitted.
    """
    status = next_status(referral.status, ReferralAction.TRIAGE)
    require_aware(at)
    triaged = replace(referral, status=status,
                      triage=Triage(practitioner_id=practitioner_id, triaged_at=at))
    return _ok(triaged, ReferralTriaged(referral_id=referral.id, occurred_at=at,
                                        practitioner_id=practitioner_id))


def accept(referral: Referral, *, plan: SupportPlan, at: datetime,
           policy: ReferralPolicy) -> ReferralChange:
    """Accept a triaged referral with the support plan TAS agreed.

    Raises:
        TransitionNotAllowed: unless the referral is triaged.
        InvalidReferral: if the plan's focus does not suit the subject, it has no (or a blank)
            action, EP hours are out of range, or the review date is not after today.
    """
    status = next_status(referral.status, ReferralAction.ACCEPT)
    raise_invalid("The support plan is not valid.", support_plan_faults(
        plan, subject_kind=referral.subject.kind, accepted_on=policy.local_date(at),
        max_ep_hours=policy.max_ep_hours))
    accepted = replace(referral, status=status, acceptance=Acceptance(accepted_at=at, plan=plan))
    return _ok(accepted, ReferralAccepted(
        referral_id=referral.id, occurred_at=at, school_urn=referral.school_urn,
        zone_id=referral.zone_id, subject_kind=referral.subject.kind, child_id=referral.child_id,
        support_level=plan.level, support_focus=plan.focus,
        practitioner_id=plan.practitioner_id, ep_hours=plan.ep_hours, review_on=plan.review_on))


def start_support(referral: Referral, *, at: datetime) -> ReferralChange:
    """Record that the agreed support has started.

    Raises:
        TransitionNotAllowed: unless the referral is accepted.
    """
    status = next_status(referral.status, ReferralAction.START_SUPPORT)
    require_aware(at)
    return _ok(replace(referral, status=status, support_started_at=at),
               ReferralSupportStarted(referral_id=referral.id, occurred_at=at))


def close(referral: Referral, *, outcome: ClosureOutcome, note: str | None,
          at: datetime) -> ReferralChange:
    """Close a referral in support with its outcome.

    Raises:
        TransitionNotAllowed: unless the referral is in support.
        InvalidReferral: if the outcome is ``other`` without a note.
    """
    status = next_status(referral.status, ReferralAction.CLOSE)
    require_aware(at)
    raise_invalid("The closure is not valid.", reason_note_faults(outcome, note))
    closed = replace(referral, status=status,
                     closure=Closure(closed_at=at, outcome=outcome, note=note))
    return _ok(closed, ReferralClosed(referral_id=referral.id, occurred_at=at, outcome=outcome))


def decline(referral: Referral, *, reason: DeclineReason, note: str | None,
            at: datetime) -> ReferralChange:
    """TAS declines a submitted or triaged referral.

    Raises:
        TransitionNotAllowed: unless the referral is submitted or triaged.
        InvalidReferral: if the reason is ``other`` without a note.
    """
    status = next_status(referral.status, ReferralAction.DECLINE)
    require_aware(at)
    raise_invalid("The decline is not valid.", reason_note_faults(reason, note))
    declined = replace(referral, status=status,
                       decline=Decline(declined_at=at, reason=reason, note=note))
    return _ok(declined, ReferralDeclined(referral_id=referral.id, occurred_at=at, reason=reason))


def withdraw(referral: Referral, *, reason: WithdrawalReason, note: str | None,
             withdrawn_by: WithdrawnBy, at: datetime) -> ReferralChange:
    """The school (or a local authority admin) withdraws a referral not yet in support.

    Raises:
        TransitionNotAllowed: unless the referral is draft, submitted, triaged or accepted.
        InvalidReferral: if the reason is ``other`` without a note.
    """
    status = next_status(referral.status, ReferralAction.WITHDRAW)
    require_aware(at)
    raise_invalid("The withdrawal is not valid.", reason_note_faults(reason, note))
    withdrawn = replace(referral, status=status, withdrawal=Withdrawal(
        withdrawn_at=at, reason=reason, note=note, withdrawn_by=withdrawn_by))
    return _ok(withdrawn, ReferralWithdrawn(referral_id=referral.id, occurred_at=at,
                                            reason=reason, withdrawn_by=withdrawn_by))


def request_placement(referral: Referral, *, request_id: UUID, provision_type: ProvisionType,
                      priority: PlacementPriority, at: datetime, policy: ReferralPolicy,
                      parental_agreement: ParentalAgreement | None = None) -> ReferralChange:
    """TAS asks placements for an EIB or APC place for the referred child.

    ``parental_agreement``, if given, records (or replaces) the parents' agreement; without it
    the referral must already hold one.

    Raises:
        TransitionNotAllowed: unless the referral is accepted or in support.
        InvalidReferral: if the referral is not about one child, or there is no parental
            agreement, or it is dated in the future.
        RequestAlreadyOpen: if an earlier placement request is still open.
    """
    status = next_status(referral.status, ReferralAction.REQUEST_PLACEMENT)
    subject = referral.subject
    if not isinstance(subject, ChildSubject):
        raise InvalidReferral("A placement can be requested only for one child.", errors=[
            Fault("placement_for_child_only",
                  "A placement can be requested only on a child referral.")
            .at("body.provision_type")])
    agreement = parental_agreement or referral.parental_agreement
    errors: Sequence[FieldError]
    if agreement is None:
        errors = [Fault("parental_agreement_required",
                        "Parents must agree before a placement is requested.")
                  .at("body.parental_agreement")]
    else:
        errors = parental_agreement_faults(agreement, on=policy.local_date(at))
    raise_invalid("The placement request is not valid.", errors)
    if placement_is_open(referral.shown):
        raise RequestAlreadyOpen("A placement request for this referral is still open.")
    requested = replace(
        referral, status=status, parental_agreement=agreement,
        placement_requests=(*referral.placement_requests, PlacementRequest(
            request_id=request_id, provision_type=provision_type, priority=priority,
            requested_at=at)),
        shown=show_placement_requested(referral.shown, request_id=request_id, at=at))
    needs = () if subject.primary_need is None else (subject.primary_need,)
    return _ok(requested, ReferralPlacementRequested(
        referral_id=referral.id, occurred_at=at, request_id=request_id, child_id=subject.child_id,
        school_urn=referral.school_urn, zone_id=referral.zone_id, year_group=subject.year_group,
        sen_provision=subject.sen_provision, needs=needs, provision_type=provision_type,
        priority=priority))


def request_element3_review(referral: Referral, *, request_id: UUID,
                            at: datetime) -> ReferralChange:
    """TAS recommends Element 3 cohort or whole-school funding for the school.

    Raises:
        TransitionNotAllowed: unless the referral is accepted or in support.
        InvalidReferral: if the referral is about one child (Element 3's cohort / whole-school
            block is not for individual children).
        RequestAlreadyOpen: if an earlier Element 3 review is not yet decided.
    """
    status = next_status(referral.status, ReferralAction.REQUEST_ELEMENT3_REVIEW)
    if isinstance(referral.subject, ChildSubject):
        raise InvalidReferral("An Element 3 review is for a cohort or the whole school.", errors=[
            Fault("element3_for_group_only",
                  "An Element 3 review can be requested only on a cohort or whole-school "
                  "referral.").at("body")])
    if funding_is_pending(referral.shown):
        raise RequestAlreadyOpen("An Element 3 review for this referral is not yet decided.")
    requested = replace(
        referral, status=status,
        element3_reviews=(*referral.element3_reviews,
                          Element3ReviewRequest(request_id=request_id, requested_at=at)),
        shown=show_element3_review_requested(referral.shown, request_id=request_id, at=at))
    return _ok(requested, ReferralElement3ReviewRequested(
        referral_id=referral.id, occurred_at=at, request_id=request_id,
        school_urn=referral.school_urn, zone_id=referral.zone_id,
        subject_kind=referral.subject.kind))


def record_outcome(referral: Referral, outcome: Outcome) -> ReferralChange:
    """Show a placement or funding outcome on the referral, whatever its status; a repeated or
    older outcome changes nothing (see :func:`.outcomes.apply_outcome`). Produces no event."""
    return _ok(replace(referral, shown=apply_outcome(referral.shown, outcome)))


def is_triage_overdue(referral: Referral, today: date) -> bool:
    """Whether a submitted referral is still waiting for triage after its due date."""
    return (referral.status is ReferralStatus.SUBMITTED and referral.triage_due_on is not None
            and is_overdue(referral.triage_due_on, today))
