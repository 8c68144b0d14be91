"""The referral's state machine: every legal transition walks, every illegal one is a 409."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from itertools import product
from uuid import uuid4

import pytest
from referrals_factories import (
    POLICY,
    PRACTITIONER_ID,
    agreement,
    at,
    details,
    draft,
    plan,
    referral_in,
)

from lfi_referrals.domain import events as ev
from lfi_referrals.domain import referral as r
from lfi_referrals.domain.errors import TransitionNotAllowed
from lfi_referrals.domain.lifecycle import ReferralAction, ReferralStatus, allowed_actions
from lfi_referrals.domain.referral import Referral, ReferralChange
from lfi_referrals.domain.retention import anonymise_referral
from lfi_referrals.domain.subjects import SubjectKind
from lfi_referrals.domain.support import (
    ClosureOutcome,
    DeclineReason,
    PlacementPriority,
    ProvisionType,
    WithdrawalReason,
    WithdrawnBy,
)
from lfi_shared.http.problems import Conflict

S = ReferralStatus
A = ReferralAction

# Written out here, apart from the implementation's table, so a slip in either shows up.
LEGAL: dict[tuple[ReferralStatus, ReferralAction], ReferralStatus] = {
    (S.DRAFT, A.AMEND): S.DRAFT,
    (S.DRAFT, A.SUBMIT): S.SUBMITTED,
    (S.DRAFT, A.WITHDRAW): S.WITHDRAWN,
    (S.SUBMITTED, A.TRIAGE): S.TRIAGED,
    (S.SUBMITTED, A.DECLINE): S.DECLINED,
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.TRIAGED, A.ACCEPT): S.ACCEPTED,
    (S.TRIAGED, A.DECLINE): S.DECLINED,
    (S.TRIAGED, A.WITHDRAW): S.WITHDRAWN,
    (S.ACCEPTED, A.START_SUPPORT): S.IN_SUPPORT,
    (S.ACCEPTED, A.WITHDRAW): S.WITHDRAWN,
    (S.ACCEPTED, A.REQUEST_PLACEMENT): S.ACCEPTED,
    (S.ACCEPTED, A.REQUEST_ELEMENT3_REVIEW): S.ACCEPTED,
    (S.IN_SUPPORT, A.CLOSE): S.CLOSED,
    (S.IN_SUPPORT, A.REQUEST_PLACEMENT): S.IN_SUPPORT,
    (S.IN_SUPPORT, A.REQUEST_ELEMENT3_REVIEW): S.IN_SUPPORT,
    (S.CLOSED, A.ANONYMISE): S.CLOSED,
    (S.DECLINED, A.ANONYMISE): S.DECLINED,
    (S.WITHDRAWN, A.ANONYMISE): S.WITHDRAWN,
}
ILLEGAL = [pair for pair in product(ReferralStatus, ReferralAction) if pair not in LEGAL]


def _anonymise(ref: Referral) -> ReferralChange:
    return ReferralChange(anonymise_referral(ref, at=at(400)))


# Each action with valid arguments, so only the status can make it fail.
PERFORM: dict[ReferralAction, Callable[[Referral], ReferralChange]] = {
    A.AMEND: lambda ref: r.amend_draft(ref, details=details(ref.subject), at=at(0, 2),
                                       policy=POLICY),
    A.SUBMIT: lambda ref: r.submit(ref, at=at(1), policy=POLICY),
    A.TRIAGE: lambda ref: r.triage(ref, practitioner_id=PRACTITIONER_ID, at=at(2)),
    A.ACCEPT: lambda ref: r.accept(ref, plan=plan(review_on=date(2026, 6, 1)), at=at(30),
                                   policy=POLICY),
    A.START_SUPPORT: lambda ref: r.start_support(ref, at=at(31)),
    A.CLOSE: lambda ref: r.close(ref, outcome=ClosureOutcome.NEEDS_MET, note=None, at=at(90)),
    A.DECLINE: lambda ref: r.decline(ref, reason=DeclineReason.NOT_ELIGIBLE, note=None,
                                     at=at(5)),
    A.WITHDRAW: lambda ref: r.withdraw(ref, reason=WithdrawalReason.NO_LONGER_NEEDED, note=None,
                                       withdrawn_by=WithdrawnBy.SCHOOL, at=at(5)),
    A.REQUEST_PLACEMENT: lambda ref: r.request_placement(
        ref, request_id=uuid4(), provision_type=ProvisionType.EIB,
        priority=PlacementPriority.HIGH, at=at(40), policy=POLICY,
        parental_agreement=agreement(date(2025, 11, 1))),
    A.REQUEST_ELEMENT3_REVIEW: lambda ref: r.request_element3_review(ref, request_id=uuid4(),
                                                                     at=at(40)),
    A.ANONYMISE: _anonymise,
}


def _kind_for(action: ReferralAction) -> SubjectKind:
    # A placement is for a child; an Element 3 review for a cohort or the whole school.
    return SubjectKind.COHORT if action is A.REQUEST_ELEMENT3_REVIEW else SubjectKind.CHILD


def test_the_tables_cover_every_pair() -> None:
    assert len(LEGAL) + len(ILLEGAL) == len(ReferralStatus) * len(ReferralAction)
    assert set(PERFORM) == set(ReferralAction)


@pytest.mark.parametrize(("status", "action"), sorted(LEGAL))
def test_every_legal_transition_reaches_its_status(status: ReferralStatus,
                                                   action: ReferralAction) -> None:
    ref = referral_in(status, _kind_for(action))
    assert ref.status is status
    change = PERFORM[action](ref)
    assert change.referral.status is LEGAL[(status, action)]


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_every_illegal_transition_is_a_conflict_naming_status_and_action(
        status: ReferralStatus, action: ReferralAction) -> None:
    ref = referral_in(status, _kind_for(action))
    with pytest.raises(TransitionNotAllowed) as caught:
        PERFORM[action](ref)
    problem = caught.value
    assert isinstance(problem, Conflict)
    assert problem.status == 409
    assert status.value.replace("_", " ") in problem.detail
    assert problem.extra == {"current_status": status.value, "action": action.value}


@pytest.mark.parametrize("status", list(ReferralStatus))
def test_allowed_actions_offer_exactly_the_legal_ones(status: ReferralStatus) -> None:
    assert allowed_actions(status) == {a for (s, a) in LEGAL if s is status}


def test_the_happy_path_records_one_event_per_step() -> None:
    ref = draft()
    steps: list[tuple[Callable[[Referral], ReferralChange], type[ev.ReferralEvent]]] = [
        (lambda x: r.submit(x, at=at(1), policy=POLICY), ev.ReferralSubmitted),
        (lambda x: r.triage(x, practitioner_id=PRACTITIONER_ID, at=at(2)), ev.ReferralTriaged),
        (lambda x: r.accept(x, plan=plan(), at=at(3), policy=POLICY), ev.ReferralAccepted),
        (lambda x: r.start_support(x, at=at(4)), ev.ReferralSupportStarted),
        (lambda x: r.close(x, outcome=ClosureOutcome.NEEDS_MET, note=None, at=at(60)),
         ev.ReferralClosed),
    ]
    for step, event_type in steps:
        change = step(ref)
        assert [type(e) for e in change.events] == [event_type]
        assert all(e.referral_id == ref.id for e in change.events)
        ref = change.referral
    assert ref.status is S.CLOSED
    assert ref.finished_at == at(60)
    assert ref.closure is not None and ref.closure.outcome is ClosureOutcome.NEEDS_MET


def test_drafting_and_amending_record_no_event() -> None:
    change = r.draft_referral(referral_id=uuid4(), school_urn="121212",
                              zone_id=uuid4(), details=details(), at=at(), policy=POLICY)
    assert change.events == ()
    assert r.amend_draft(change.referral, details=details(concerns="Updated"), at=at(0, 1),
                         policy=POLICY).events == ()


def test_transitions_never_change_the_referral_they_were_given() -> None:
    ref = referral_in(S.SUBMITTED)
    r.triage(ref, practitioner_id=PRACTITIONER_ID, at=at(2))
    assert ref.status is S.SUBMITTED and ref.triage is None
