"""Factories for the referrals domain's unit tests: valid data by default, overridable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from lfi_referrals.domain import referral as r
from lfi_referrals.domain.census import NcYear, SenPrimaryNeed, SenProvision
from lfi_referrals.domain.identifiers import upn_check_letter
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.domain.policy import ReferralPolicy
from lfi_referrals.domain.referral import DraftDetails, Referral
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
    SupportFocus,
    SupportLevel,
    SupportPlan,
    SupportRequest,
    WithdrawalReason,
    WithdrawnBy,
)

LONDON = ZoneInfo("Europe/London")
CHRISTMAS_CLOSURES = frozenset({date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1)})
POLICY = ReferralPolicy(triage_working_days=5, closure_dates=CHRISTMAS_CLOSURES,
                        max_ep_hours=Decimal(100), timezone=LONDON)

SCHOOL_URN = "121212"
ZONE_ID = UUID("00000000-0000-4000-8000-00000000000a")
PRACTITIONER_ID = UUID("00000000-0000-4000-8000-0000000000b1")
START = datetime(2025, 10, 6, 9, 0, tzinfo=UTC)  # a Monday in term

CHILD_GIVEN_NAME = "Ellery"
CHILD_FAMILY_NAME = "Quintrell"
CHILD_DATE_OF_BIRTH = date(2012, 5, 17)
CHILD_UPN = upn_check_letter("926250001234") + "926250001234"
CONCERNS = "Ellery has been at risk of suspension since the spring term."


def at(days: int = 0, hours: int = 0) -> datetime:
    """A moment ``days`` and ``hours`` after :data:`START`."""
    return START + timedelta(days=days, hours=hours)


def make_upn(body: str) -> str:
    return upn_check_letter(body) + body


def child_subject(**overrides: Any) -> ChildSubject:
    identity = ChildIdentity(given_name=CHILD_GIVEN_NAME, family_name=CHILD_FAMILY_NAME,
                             date_of_birth=CHILD_DATE_OF_BIRTH, upn=CHILD_UPN)
    values: dict[str, Any] = {
        "child_id": UUID("00000000-0000-4000-8000-0000000000c1"), "identity": identity,
        "year_group": NcYear.Y8, "sen_provision": SenProvision.SEN_SUPPORT,
        "primary_need": SenPrimaryNeed.SEMH}
    values.update(overrides)
    return ChildSubject(**values)


def cohort_subject(**overrides: Any) -> CohortSubject:
    values: dict[str, Any] = {
        "description": "Year 9 pupils struggling after the move from middle school",
        "year_groups": frozenset({NcYear.Y9}), "pupil_count": 12,
        "primary_needs": frozenset({SenPrimaryNeed.SEMH, SenPrimaryNeed.SLCN})}
    values.update(overrides)
    return CohortSubject(**values)


def subject_of(kind: SubjectKind) -> ReferralSubject:
    if kind is SubjectKind.CHILD:
        return child_subject()
    if kind is SubjectKind.COHORT:
        return cohort_subject()
    return WholeSchoolSubject()


def agreement(agreed_on: date = date(2025, 10, 1)) -> ParentalAgreement:
    return ParentalAgreement(relationship=ParentRelationship.PARENT, agreed_on=agreed_on)


def details(subject: ReferralSubject | None = None, *,
            support_requested: frozenset[SupportRequest] | None = None,
            concerns: str | None = CONCERNS,
            parental_agreement: ParentalAgreement | None = None) -> DraftDetails:
    return DraftDetails(
        subject=subject if subject is not None else child_subject(),
        support_requested=(support_requested if support_requested is not None
                           else frozenset({SupportRequest.EP_CONSULTATION})),
        concerns=concerns, parental_agreement=parental_agreement)


def draft(subject: ReferralSubject | None = None, **detail_overrides: Any) -> Referral:
    return r.draft_referral(referral_id=uuid4(), school_urn=SCHOOL_URN, zone_id=ZONE_ID,
                            details=details(subject, **detail_overrides), at=at(),
                            policy=POLICY).referral


def plan(**overrides: Any) -> SupportPlan:
    values: dict[str, Any] = {
        "level": SupportLevel.TARGETED, "focus": SupportFocus.WHOLE_SCHOOL,
        "actions": ("Trauma-informed practice training for staff",),
        "practitioner_id": PRACTITIONER_ID, "ep_hours": Decimal("6.5"),
        "review_on": date(2026, 1, 12)}
    values.update(overrides)
    return SupportPlan(**values)


def referral_in(status: ReferralStatus, kind: SubjectKind = SubjectKind.CHILD) -> Referral:
    """A referral about a ``kind`` subject, walked by legal transitions to ``status``."""
    ref = draft(subject_of(kind))
    if status is ReferralStatus.DRAFT:
        return ref
    if status is ReferralStatus.WITHDRAWN:
        return r.withdraw(ref, reason=WithdrawalReason.RAISED_IN_ERROR, note=None,
                          withdrawn_by=WithdrawnBy.SCHOOL, at=at(0, 1)).referral
    ref = r.submit(ref, at=at(1), policy=POLICY).referral
    if status is ReferralStatus.SUBMITTED:
        return ref
    if status is ReferralStatus.DECLINED:
        return r.decline(ref, reason=DeclineReason.REFERRED_ELSEWHERE, note=None,
                         at=at(2)).referral
    ref = r.triage(ref, practitioner_id=PRACTITIONER_ID, at=at(2)).referral
    if status is ReferralStatus.TRIAGED:
        return ref
    ref = r.accept(ref, plan=plan(), at=at(3), policy=POLICY).referral
    if status is ReferralStatus.ACCEPTED:
        return ref
    ref = r.start_support(ref, at=at(4)).referral
    if status is ReferralStatus.IN_SUPPORT:
        return ref
    assert status is ReferralStatus.CLOSED
    return r.close(ref, outcome=ClosureOutcome.NEEDS_MET, note=None, at=at(60)).referral


def with_place_requested(ref: Referral) -> Referral:
    return replace(ref, support_requested=frozenset({SupportRequest.EIB_PLACE}))
