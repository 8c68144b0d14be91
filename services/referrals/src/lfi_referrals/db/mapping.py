"""Between the referral aggregate (``domain.referral.Referral``) and its rows.

:func:`referral_from_rows` rebuilds the aggregate; :func:`write_referral` copies it back onto
the row. Columns the domain does not model (secondary need, exclusions, what was already tried,
focus area, assigned practitioner) are the service's own and are left to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from lfi_referrals.db.models import Element3ReviewRow, PlacementRequestRow, ReferralRow
from lfi_referrals.domain.census import NcYear, SenPrimaryNeed, SenProvision
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.domain.outcomes import (
    FundingStatus,
    PlacementEndReason,
    PlacementStatus,
    ShownFunding,
    ShownOutcomes,
    ShownPlacement,
)
from lfi_referrals.domain.referral import (
    Acceptance,
    Closure,
    Decline,
    Element3ReviewRequest,
    PlacementRequest,
    Referral,
    Triage,
    Withdrawal,
)
from lfi_referrals.domain.subjects import (
    ChildIdentity,
    ChildSubject,
    CohortSubject,
    ReferralSubject,
    SubjectKind,
    WholeSchoolSubject,
)
from lfi_referrals.domain.support import (
    ClosureOutcome,
    DeclineReason,
    ParentalAgreement,
    ParentRelationship,
    PlacementPriority,
    ProvisionType,
    SupportFocus,
    SupportLevel,
    SupportPlan,
    SupportRequest,
    WithdrawalReason,
    WithdrawnBy,
)


def _subject(row: ReferralRow) -> ReferralSubject:
    kind = SubjectKind(row.subject_kind)
    if kind is SubjectKind.CHILD:
        identity = None
        if row.child_upn is not None:
            assert row.child_given_name is not None and row.child_family_name is not None
            assert row.child_date_of_birth is not None
            identity = ChildIdentity(given_name=row.child_given_name,
                                     family_name=row.child_family_name,
                                     date_of_birth=row.child_date_of_birth, upn=row.child_upn)
        assert row.child_id is not None and row.sen_provision is not None
        return ChildSubject(
            child_id=row.child_id, identity=identity, year_group=NcYear(row.year_groups[0]),
            sen_provision=SenProvision(row.sen_provision),
            primary_need=SenPrimaryNeed(row.primary_need) if row.primary_need else None)
    if kind is SubjectKind.COHORT:
        return CohortSubject(
            description=row.cohort_description,
            year_groups=frozenset(NcYear(y) for y in row.year_groups),
            pupil_count=row.cohort_pupil_count or 0,
            primary_needs=frozenset(SenPrimaryNeed(n) for n in row.needs))
    return WholeSchoolSubject()


def write_subject(row: ReferralRow, subject: ReferralSubject) -> None:
    """Copy ``subject`` onto ``row`` (identity columns, census facts, cohort columns)."""
    row.subject_kind = subject.kind.value
    if isinstance(subject, ChildSubject):
        row.child_id = subject.child_id
        identity = subject.identity
        row.child_given_name = identity.given_name if identity else None
        row.child_family_name = identity.family_name if identity else None
        row.child_date_of_birth = identity.date_of_birth if identity else None
        row.child_upn = identity.upn if identity else None
        row.year_groups = [subject.year_group.value]
        row.sen_provision = subject.sen_provision.value
        row.primary_need = subject.primary_need.value if subject.primary_need else None
        # The secondary need is service-only: kept as stored (the service sets it on a create
        # or an amendment), so a transition does not drop it from the needs filtered on.
        row.needs = [need for need in (row.primary_need, row.secondary_need) if need]
        row.cohort_description = None
        row.cohort_pupil_count = None
    elif isinstance(subject, CohortSubject):
        row.child_id = None
        row.year_groups = sorted(y.value for y in subject.year_groups)
        row.needs = sorted(n.value for n in subject.primary_needs)
        row.cohort_description = subject.description
        row.cohort_pupil_count = subject.pupil_count
    else:
        row.child_id = None
        row.year_groups = []
        row.needs = []


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _uuid(value: Any) -> UUID | None:
    return UUID(value) if value else None


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def shown_placement_json(shown: ShownPlacement | None) -> dict[str, Any] | None:
    if shown is None:
        return None
    return {
        "status": shown.status.value, "request_id": str(shown.request_id),
        "provision_id": str(shown.provision_id) if shown.provision_id else None,
        "starts_on": _iso(shown.starts_on), "ends_on": _iso(shown.ends_on),
        "end_reason": shown.end_reason.value if shown.end_reason else None,
        "as_of": _iso(shown.as_of),
        "source_event_id": str(shown.source_event_id) if shown.source_event_id else None,
    }


def shown_funding_json(shown: ShownFunding | None) -> dict[str, Any] | None:
    if shown is None:
        return None
    return {
        "status": shown.status.value,
        "request_id": str(shown.request_id) if shown.request_id else None,
        "application_id": str(shown.application_id) if shown.application_id else None,
        "awarded_pence": shown.awarded_pence, "as_of": _iso(shown.as_of),
        "source_event_id": str(shown.source_event_id) if shown.source_event_id else None,
    }


def _shown(row: ReferralRow) -> ShownOutcomes:
    placement = funding = None
    if (p := row.shown_placement) is not None:
        placement = ShownPlacement(
            status=PlacementStatus(p["status"]), request_id=UUID(p["request_id"]),
            provision_id=_uuid(p["provision_id"]), starts_on=_date(p["starts_on"]),
            ends_on=_date(p["ends_on"]),
            end_reason=PlacementEndReason(p["end_reason"]) if p["end_reason"] else None,
            as_of=datetime.fromisoformat(p["as_of"]),
            source_event_id=_uuid(p["source_event_id"]))
    if (f := row.shown_funding) is not None:
        funding = ShownFunding(
            status=FundingStatus(f["status"]), request_id=_uuid(f["request_id"]),
            application_id=_uuid(f["application_id"]), awarded_pence=f["awarded_pence"],
            as_of=datetime.fromisoformat(f["as_of"]),
            source_event_id=_uuid(f["source_event_id"]))
    return ShownOutcomes(placement=placement, funding=funding)


def referral_from_rows(row: ReferralRow, placements: Sequence[PlacementRequestRow] = (),
                       reviews: Sequence[Element3ReviewRow] = ()) -> Referral:
    """The aggregate stored in ``row`` and its request rows."""
    agreement = None
    if row.parental_agreement_by is not None and row.parental_agreement_on is not None:
        agreement = ParentalAgreement(relationship=ParentRelationship(row.parental_agreement_by),
                                      agreed_on=row.parental_agreement_on)
    triage = None
    if row.triaged_at is not None and row.triaged_by is not None:
        triage = Triage(practitioner_id=row.triaged_by, triaged_at=row.triaged_at)
    acceptance = None
    if row.accepted_at is not None:
        assert row.plan_level and row.plan_focus and row.plan_practitioner_id
        assert row.plan_ep_hours is not None and row.plan_review_on is not None
        acceptance = Acceptance(accepted_at=row.accepted_at, plan=SupportPlan(
            level=SupportLevel(row.plan_level), focus=SupportFocus(row.plan_focus),
            actions=tuple(row.plan_actions or ()), practitioner_id=row.plan_practitioner_id,
            ep_hours=Decimal(row.plan_ep_hours), review_on=row.plan_review_on))
    closure = decline = withdrawal = None
    if row.closed_at is not None and row.closure_outcome:
        closure = Closure(closed_at=row.closed_at, outcome=ClosureOutcome(row.closure_outcome),
                          note=row.closure_note)
    if row.declined_at is not None and row.decline_reason:
        decline = Decline(declined_at=row.declined_at, reason=DeclineReason(row.decline_reason),
                          note=row.decline_note)
    if row.withdrawn_at is not None and row.withdrawal_reason and row.withdrawn_by:
        withdrawal = Withdrawal(withdrawn_at=row.withdrawn_at,
                                reason=WithdrawalReason(row.withdrawal_reason),
                                note=row.withdrawal_note, withdrawn_by=WithdrawnBy(row.withdrawn_by))
    return Referral(
        id=row.id, school_urn=row.school_urn, zone_id=row.zone_id,
        status=ReferralStatus(row.status), created_at=row.created_at, subject=_subject(row),
        support_requested=frozenset(SupportRequest(s) for s in row.support_requested),
        concerns=row.concerns, parental_agreement=agreement, submitted_at=row.submitted_at,
        triage_due_on=row.triage_due_on, triage=triage, acceptance=acceptance,
        support_started_at=row.support_started_at, closure=closure, decline=decline,
        withdrawal=withdrawal,
        placement_requests=tuple(
            PlacementRequest(request_id=p.request_id, provision_type=ProvisionType(p.provision_type),
                             priority=PlacementPriority(p.priority), requested_at=p.requested_at)
            for p in sorted(placements, key=lambda p: p.requested_at)),
        element3_reviews=tuple(
            Element3ReviewRequest(request_id=r.request_id, requested_at=r.requested_at)
            for r in sorted(reviews, key=lambda r: r.requested_at)),
        shown=_shown(row), anonymised_at=row.anonymised_at)


def write_referral(row: ReferralRow, referral: Referral) -> None:
    """Copy the aggregate's state onto ``row`` (request rows are written by the service)."""
    row.id = referral.id
    row.school_urn = referral.school_urn
    row.zone_id = referral.zone_id
    row.status = referral.status.value
    row.created_at = referral.created_at
    write_subject(row, referral.subject)
    row.support_requested = sorted(s.value for s in referral.support_requested)
    row.concerns = referral.concerns
    agreement = referral.parental_agreement
    row.parental_agreement_by = agreement.relationship.value if agreement else None
    row.parental_agreement_on = agreement.agreed_on if agreement else None
    row.submitted_at = referral.submitted_at
    row.triage_due_on = referral.triage_due_on
    row.triaged_at = referral.triage.triaged_at if referral.triage else None
    row.triaged_by = referral.triage.practitioner_id if referral.triage else None
    acceptance = referral.acceptance
    row.accepted_at = acceptance.accepted_at if acceptance else None
    plan = acceptance.plan if acceptance else None
    row.plan_level = plan.level.value if plan else None
    row.plan_focus = plan.focus.value if plan else None
    row.plan_actions = list(plan.actions) if plan else None
    row.plan_practitioner_id = plan.practitioner_id if plan else None
    row.plan_ep_hours = plan.ep_hours if plan else None
    row.plan_review_on = plan.review_on if plan else None
    row.support_started_at = referral.support_started_at
    row.closed_at = referral.closure.closed_at if referral.closure else None
    row.closure_outcome = referral.closure.outcome.value if referral.closure else None
    row.closure_note = referral.closure.note if referral.closure else None
    row.declined_at = referral.decline.declined_at if referral.decline else None
    row.decline_reason = referral.decline.reason.value if referral.decline else None
    row.decline_note = referral.decline.note if referral.decline else None
    w = referral.withdrawal
    row.withdrawn_at = w.withdrawn_at if w else None
    row.withdrawal_reason = w.reason.value if w else None
    row.withdrawal_note = w.note if w else None
    row.withdrawn_by = w.withdrawn_by.value if w else None
    row.shown_placement = shown_placement_json(referral.shown.placement)
    row.shown_funding = shown_funding_json(referral.shown.funding)
    row.anonymised_at = referral.anonymised_at
