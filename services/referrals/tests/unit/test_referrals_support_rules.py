"""What a referral may ask for, parental agreement, the support plan, and follow-on requests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest
from referrals_factories import (
    POLICY,
    ZONE_ID,
    agreement,
    at,
    child_subject,
    cohort_subject,
    details,
    draft,
    plan,
    referral_in,
    subject_of,
)

from lfi_referrals.domain import referral as r
from lfi_referrals.domain.census import SenPrimaryNeed, SenProvision
from lfi_referrals.domain.errors import InvalidReferral, RequestAlreadyOpen
from lfi_referrals.domain.events import (
    ReferralElement3ReviewRequested,
    ReferralPlacementRequested,
)
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.domain.outcomes import (
    FundingOutcome,
    FundingStatus,
    PlacementOutcome,
    PlacementStatus,
)
from lfi_referrals.domain.referral import Referral
from lfi_referrals.domain.subjects import (
    ChildIdentity,
    ChildSubject,
    SubjectKind,
    WholeSchoolSubject,
)
from lfi_referrals.domain.support import (
    ClosureOutcome,
    DeclineReason,
    PlacementPriority,
    ProvisionType,
    SupportFocus,
    SupportRequest,
    WithdrawalReason,
    WithdrawnBy,
)

EIB = frozenset({SupportRequest.EIB_PLACE})


def _codes(caught: pytest.ExceptionInfo[InvalidReferral]) -> list[tuple[str, str]]:
    assert caught.value.status == 422
    assert caught.value.errors is not None
    return [(e.field, e.code) for e in caught.value.errors]


# --------------------------------------------------------------------- parental agreement


@pytest.mark.parametrize("place", [SupportRequest.EIB_PLACE, SupportRequest.APC_PLACE])
def test_a_place_cannot_be_requested_without_parental_agreement(place: SupportRequest) -> None:
    ref = draft(support_requested=frozenset({place, SupportRequest.OUTREACH}))
    with pytest.raises(InvalidReferral) as caught:
        r.submit(ref, at=at(1), policy=POLICY)
    assert _codes(caught) == [("body.parental_agreement", "parental_agreement_required")]


def test_a_draft_may_lack_agreement_until_it_is_submitted() -> None:
    ref = draft(support_requested=EIB)
    assert ref.status is ReferralStatus.DRAFT


def test_a_place_with_parental_agreement_is_submitted() -> None:
    ref = draft(support_requested=EIB, parental_agreement=agreement(date(2025, 10, 6)))
    change = r.submit(ref, at=at(1), policy=POLICY)
    assert change.referral.status is ReferralStatus.SUBMITTED


def test_parental_agreement_cannot_be_dated_in_the_future() -> None:
    # Drafted on Monday 6 October 2025; agreement dated the next day.
    with pytest.raises(InvalidReferral) as caught:
        draft(support_requested=EIB, parental_agreement=agreement(date(2025, 10, 7)))
    assert _codes(caught) == [("body.parental_agreement.agreed_on", "agreement_in_future")]


def test_parental_agreement_belongs_only_on_a_child_referral() -> None:
    with pytest.raises(InvalidReferral) as caught:
        draft(cohort_subject(), parental_agreement=agreement())
    assert _codes(caught) == [("body.parental_agreement", "agreement_for_child_only")]


# ------------------------------------------------------------- what each subject may ask


@pytest.mark.parametrize(("kind", "request_"), [
    (SubjectKind.COHORT, SupportRequest.EIB_PLACE),
    (SubjectKind.COHORT, SupportRequest.APC_PLACE),
    (SubjectKind.WHOLE_SCHOOL, SupportRequest.EIB_PLACE),
    (SubjectKind.WHOLE_SCHOOL, SupportRequest.APC_PLACE),
    (SubjectKind.WHOLE_SCHOOL, SupportRequest.KS3_TRANSITION_OUTREACH),
    (SubjectKind.CHILD, SupportRequest.ELEMENT3_REVIEW),
])
def test_a_subject_cannot_ask_for_support_not_meant_for_it(kind: SubjectKind,
                                                           request_: SupportRequest) -> None:
    with pytest.raises(InvalidReferral) as caught:
        draft(subject_of(kind), support_requested=frozenset({request_}))
    assert _codes(caught) == [("body.support_requested", "support_not_allowed_for_subject")]


@pytest.mark.parametrize("request_", [SupportRequest.ELEMENT3_REVIEW, SupportRequest.OUTREACH,
                                      SupportRequest.TIER1_TRAINING])
def test_a_whole_school_may_ask_for_whole_school_support(request_: SupportRequest) -> None:
    ref = draft(WholeSchoolSubject(), support_requested=frozenset({request_}))
    assert r.submit(ref, at=at(1), policy=POLICY).referral.status is ReferralStatus.SUBMITTED


def test_submission_lists_everything_missing_at_once() -> None:
    ref = draft(support_requested=frozenset(), concerns="  ")
    with pytest.raises(InvalidReferral) as caught:
        r.submit(ref, at=at(1), policy=POLICY)
    assert _codes(caught) == [("body.support_requested", "missing"),
                              ("body.concerns", "missing")]


def test_a_child_needs_valid_identity_and_census_codes() -> None:
    bad_child = child_subject(
        identity=ChildIdentity(given_name=" ", family_name="Quintrell",
                               date_of_birth=date(2030, 1, 1), upn="C801200005001"),
        sen_provision=SenProvision.EHC_PLAN, primary_need=SenPrimaryNeed.NSA)
    with pytest.raises(InvalidReferral) as caught:
        draft(bad_child)
    assert _codes(caught) == [
        ("body.child.given_name", "missing"),
        ("body.child.date_of_birth", "date_of_birth_not_past"),
        ("body.child.upn", "upn_check_letter"),
        ("body.child.primary_need", "primary_need_nsa"),
    ]
    assert "C801200005001" not in str(caught.value.errors)


def test_a_cohort_is_at_least_two_pupils_in_some_year_group() -> None:
    with pytest.raises(InvalidReferral) as caught:
        draft(cohort_subject(pupil_count=1, year_groups=frozenset()))
    assert _codes(caught) == [("body.cohort.year_groups", "missing"),
                              ("body.cohort.pupil_count", "cohort_too_small")]


def test_a_referral_needs_a_valid_school_urn() -> None:
    with pytest.raises(InvalidReferral) as caught:
        r.draft_referral(referral_id=uuid4(), school_urn="12345", zone_id=ZONE_ID,
                         details=details(), at=at(), policy=POLICY)
    assert _codes(caught) == [("body.school_urn", "urn_format")]


# --------------------------------------------------------------------------- support plan


def test_a_plan_is_recorded_on_acceptance() -> None:
    change = r.accept(referral_in(ReferralStatus.TRIAGED), plan=plan(), at=at(3), policy=POLICY)
    assert change.referral.acceptance is not None
    assert change.referral.acceptance.plan == plan()


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"review_on": date(2025, 10, 9)}, ("body.support_plan.review_on",
                                       "review_not_after_acceptance")),
    ({"review_on": date(2025, 10, 8)}, ("body.support_plan.review_on",
                                       "review_not_after_acceptance")),
    ({"ep_hours": Decimal("100.01")}, ("body.support_plan.ep_hours", "ep_hours_range")),
    ({"ep_hours": Decimal("-1")}, ("body.support_plan.ep_hours", "ep_hours_range")),
    ({"ep_hours": Decimal("1.125")}, ("body.support_plan.ep_hours", "ep_hours_range")),
    ({"ep_hours": Decimal("Infinity")}, ("body.support_plan.ep_hours", "ep_hours_range")),
    ({"actions": ()}, ("body.support_plan.actions", "missing")),
    ({"actions": ("Outreach visit", " ")}, ("body.support_plan.actions[1]", "blank")),
])
def test_a_plan_breaking_a_rule_is_refused(overrides: dict[str, object],
                                           expected: tuple[str, str]) -> None:
    # Accepted at at(3) = Thursday 9 October 2025.
    with pytest.raises(InvalidReferral) as caught:
        r.accept(referral_in(ReferralStatus.TRIAGED), plan=plan(**overrides), at=at(3),
                 policy=POLICY)
    assert _codes(caught) == [expected]


@pytest.mark.parametrize("hours", [Decimal(0), Decimal(100), Decimal("0.25")])
def test_ep_hours_from_zero_to_the_maximum_are_allowed(hours: Decimal) -> None:
    r.accept(referral_in(ReferralStatus.TRIAGED), plan=plan(ep_hours=hours), at=at(3),
             policy=POLICY)


def test_a_cohort_referral_cannot_get_a_child_focused_plan() -> None:
    with pytest.raises(InvalidReferral) as caught:
        r.accept(referral_in(ReferralStatus.TRIAGED, SubjectKind.COHORT),
                 plan=plan(focus=SupportFocus.CHILD), at=at(3), policy=POLICY)
    assert _codes(caught) == [("body.support_plan.focus", "focus_not_allowed_for_subject")]


# ------------------------------------------------------------------ reasons need a note


def test_closing_as_other_needs_a_note() -> None:
    ref = referral_in(ReferralStatus.IN_SUPPORT)
    with pytest.raises(InvalidReferral) as caught:
        r.close(ref, outcome=ClosureOutcome.OTHER, note=None, at=at(60))
    assert _codes(caught) == [("body.note", "missing")]
    closed = r.close(ref, outcome=ClosureOutcome.OTHER, note="Family moved abroad", at=at(60))
    assert closed.referral.status is ReferralStatus.CLOSED


def test_declining_and_withdrawing_as_other_need_a_note() -> None:
    with pytest.raises(InvalidReferral):
        r.decline(referral_in(ReferralStatus.SUBMITTED), reason=DeclineReason.OTHER, note=" ",
                  at=at(2))
    with pytest.raises(InvalidReferral):
        r.withdraw(referral_in(ReferralStatus.DRAFT), reason=WithdrawalReason.OTHER, note=None,
                   withdrawn_by=WithdrawnBy.LOCAL_AUTHORITY, at=at(2))


# --------------------------------------------------------------- placement requests


def _request_place(ref: Referral, *, days: int = 10, with_agreement: bool = True,
                   ) -> r.ReferralChange:
    return r.request_placement(
        ref, request_id=uuid4(), provision_type=ProvisionType.APC,
        priority=PlacementPriority.URGENT, at=at(days), policy=POLICY,
        parental_agreement=agreement(date(2025, 10, 10)) if with_agreement else None)


def test_a_placement_request_names_the_child_only_by_id() -> None:
    ref = referral_in(ReferralStatus.IN_SUPPORT)
    change = _request_place(ref)
    [event] = change.events
    assert isinstance(event, ReferralPlacementRequested)
    subject = ref.subject
    assert isinstance(subject, ChildSubject)
    assert event.child_id == subject.child_id
    assert (event.school_urn, event.zone_id, event.year_group, event.needs) == (
        ref.school_urn, ref.zone_id, subject.year_group, (SenPrimaryNeed.SEMH,))
    assert change.referral.parental_agreement == agreement(date(2025, 10, 10))
    assert change.referral.shown.placement is not None
    assert change.referral.shown.placement.status is PlacementStatus.REQUESTED


def test_a_placement_request_needs_parental_agreement() -> None:
    with pytest.raises(InvalidReferral) as caught:
        _request_place(referral_in(ReferralStatus.ACCEPTED), with_agreement=False)
    assert _codes(caught) == [("body.parental_agreement", "parental_agreement_required")]


def test_agreement_given_on_submission_serves_a_later_placement_request() -> None:
    ref = draft(support_requested=EIB, parental_agreement=agreement(date(2025, 10, 6)))
    ref = r.submit(ref, at=at(1), policy=POLICY).referral
    ref = r.triage(ref, practitioner_id=uuid4(), at=at(2)).referral
    ref = r.accept(ref, plan=plan(), at=at(3), policy=POLICY).referral
    assert _request_place(ref, with_agreement=False).referral.placement_requests


def test_a_placement_is_only_for_a_child() -> None:
    with pytest.raises(InvalidReferral) as caught:
        _request_place(referral_in(ReferralStatus.ACCEPTED, SubjectKind.COHORT))
    assert _codes(caught) == [("body.provision_type", "placement_for_child_only")]


def test_a_second_placement_waits_until_the_first_is_over() -> None:
    first = _request_place(referral_in(ReferralStatus.IN_SUPPORT))
    with pytest.raises(RequestAlreadyOpen):
        _request_place(first.referral, days=12)
    request_id = first.referral.placement_requests[0].request_id
    ended = r.record_outcome(first.referral, PlacementOutcome(
        event_id=uuid4(), occurred_at=at(80), request_id=request_id,
        status=PlacementStatus.ENDED))
    again = _request_place(ended.referral, days=90)
    assert len(again.referral.placement_requests) == 2


# ------------------------------------------------------------- Element 3 review requests


def test_an_element3_review_is_requested_for_a_cohort() -> None:
    change = r.request_element3_review(referral_in(ReferralStatus.ACCEPTED, SubjectKind.COHORT),
                                       request_id=uuid4(), at=at(10))
    [event] = change.events
    assert isinstance(event, ReferralElement3ReviewRequested)
    assert event.subject_kind is SubjectKind.COHORT


def test_an_element3_review_is_not_for_one_child() -> None:
    with pytest.raises(InvalidReferral) as caught:
        r.request_element3_review(referral_in(ReferralStatus.ACCEPTED), request_id=uuid4(),
                                  at=at(10))
    assert _codes(caught) == [("body", "element3_for_group_only")]


def test_a_second_element3_review_waits_for_the_panel_decision() -> None:
    ref = referral_in(ReferralStatus.IN_SUPPORT, SubjectKind.WHOLE_SCHOOL)
    ref = r.request_element3_review(ref, request_id=uuid4(), at=at(10)).referral
    with pytest.raises(RequestAlreadyOpen):
        r.request_element3_review(ref, request_id=uuid4(), at=at(11))
    ref = r.record_outcome(ref, FundingOutcome(
        event_id=uuid4(), occurred_at=at(40), application_id=uuid4(),
        status=FundingStatus.DECLINED)).referral
    again = r.request_element3_review(ref, request_id=uuid4(), at=at(41))
    assert len(again.referral.element3_reviews) == 2
