"""Placement and funding outcomes shown on a referral: idempotent and order-aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from referrals_factories import referral_in

from lfi_referrals.domain import referral as r
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.domain.outcomes import (
    FundingOutcome,
    FundingStatus,
    Outcome,
    PlacementEndReason,
    PlacementOutcome,
    PlacementStatus,
    ShownOutcomes,
    apply_outcome,
    show_placement_requested,
)

T0 = datetime(2025, 11, 3, 9, tzinfo=UTC)
REQUEST = UUID("00000000-0000-4000-8000-0000000000d1")
PROVISION = UUID("00000000-0000-4000-8000-0000000000e1")
REQUESTED = show_placement_requested(ShownOutcomes(), request_id=REQUEST, at=T0)


def placement(status: PlacementStatus, hours: float, **extra: object) -> PlacementOutcome:
    return PlacementOutcome(event_id=uuid4(), occurred_at=T0 + timedelta(hours=hours),
                            request_id=REQUEST, status=status, **extra)  # type: ignore[arg-type]


def test_an_offer_is_shown_over_the_request() -> None:
    shown = apply_outcome(REQUESTED, placement(PlacementStatus.OFFERED, 1, provision_id=PROVISION))
    assert shown.placement is not None
    assert (shown.placement.status, shown.placement.provision_id) == (
        PlacementStatus.OFFERED, PROVISION)


def test_applying_the_same_event_twice_changes_nothing() -> None:
    offered = placement(PlacementStatus.OFFERED, 1, provision_id=PROVISION)
    once = apply_outcome(REQUESTED, offered)
    assert apply_outcome(once, offered) == once


def test_an_outcome_older_than_the_one_shown_is_ignored() -> None:
    started = apply_outcome(REQUESTED, placement(PlacementStatus.STARTED, 48,
                                                 provision_id=PROVISION))
    late_offer = placement(PlacementStatus.OFFERED, 1, provision_id=PROVISION)
    assert apply_outcome(started, late_offer) == started


def test_an_outcome_older_than_the_request_is_ignored() -> None:
    stale = placement(PlacementStatus.ENDED, -24, end_reason=PlacementEndReason.OTHER)
    assert apply_outcome(REQUESTED, stale) == REQUESTED


def test_at_the_same_instant_the_later_stage_wins_whatever_the_order() -> None:
    offered = placement(PlacementStatus.OFFERED, 5)
    started = placement(PlacementStatus.STARTED, 5)
    one = apply_outcome(apply_outcome(REQUESTED, offered), started)
    other = apply_outcome(apply_outcome(REQUESTED, started), offered)
    assert one == other
    assert one.placement is not None and one.placement.status is PlacementStatus.STARTED


def test_the_end_of_a_placement_shows_its_reason() -> None:
    shown = apply_outcome(REQUESTED, placement(
        PlacementStatus.ENDED, 2000, provision_id=PROVISION,
        end_reason=PlacementEndReason.RETURNED_TO_HOME_SCHOOL))
    assert shown.placement is not None
    assert shown.placement.end_reason is PlacementEndReason.RETURNED_TO_HOME_SCHOOL


def funding(status: FundingStatus, hours: float, pence: int | None = None) -> FundingOutcome:
    return FundingOutcome(event_id=uuid4(), occurred_at=T0 + timedelta(hours=hours),
                          application_id=REQUEST, status=status, awarded_pence=pence)


@pytest.mark.parametrize(("status", "pence"), [
    (FundingStatus.APPROVED, 1_500_000), (FundingStatus.PART_APPROVED, 600_000),
    (FundingStatus.DECLINED, None)])
def test_a_funding_decision_is_shown_with_its_award(status: FundingStatus,
                                                    pence: int | None) -> None:
    shown = apply_outcome(ShownOutcomes(), funding(status, 1, pence))
    assert shown.funding is not None
    assert (shown.funding.status, shown.funding.awarded_pence) == (status, pence)
    assert shown.placement is None


def test_a_late_application_opened_does_not_hide_the_decision() -> None:
    decided = apply_outcome(ShownOutcomes(), funding(FundingStatus.APPROVED, 10, 100))
    assert apply_outcome(decided, funding(FundingStatus.APPLICATION_OPENED, 2)) == decided


@pytest.mark.parametrize(("status", "pence"), [
    (FundingStatus.APPROVED, None), (FundingStatus.PART_APPROVED, -1),
    (FundingStatus.DECLINED, 100), (FundingStatus.REQUESTED, None)])
def test_impossible_funding_outcomes_are_refused(status: FundingStatus,
                                                 pence: int | None) -> None:
    with pytest.raises(ValueError):
        funding(status, 1, pence)


def test_outcome_times_must_carry_an_offset() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        PlacementOutcome(event_id=uuid4(), occurred_at=datetime(2025, 11, 3, 9),
                         request_id=REQUEST, status=PlacementStatus.OFFERED)


def test_outcomes_are_shown_even_on_a_finished_referral() -> None:
    ref = referral_in(ReferralStatus.WITHDRAWN)
    change = r.record_outcome(ref, funding(FundingStatus.DECLINED, 1))
    assert change.events == ()
    assert change.referral.shown.funding is not None
    assert change.referral.status is ReferralStatus.WITHDRAWN


_placements = st.builds(
    lambda status, hours, eid: PlacementOutcome(
        event_id=eid, occurred_at=T0 + timedelta(hours=hours), request_id=REQUEST,
        status=status),
    st.sampled_from([s for s in PlacementStatus if s is not PlacementStatus.REQUESTED]),
    st.integers(min_value=0, max_value=5), st.uuids())
_fundings = st.builds(
    lambda status, hours, eid: FundingOutcome(
        event_id=eid, occurred_at=T0 + timedelta(hours=hours), application_id=REQUEST,
        status=status,
        awarded_pence=100 if status in (FundingStatus.APPROVED, FundingStatus.PART_APPROVED)
        else None),
    st.sampled_from([s for s in FundingStatus if s is not FundingStatus.REQUESTED]),
    st.integers(min_value=0, max_value=5), st.uuids())


@given(outcomes=st.lists(st.one_of(_placements, _fundings), max_size=8), data=st.data())
def test_any_arrival_order_with_repeats_shows_the_same(outcomes: list[Outcome],
                                                       data: st.DataObject) -> None:
    arrivals = data.draw(st.permutations(outcomes + outcomes[: len(outcomes) // 2]))
    in_order = REQUESTED
    for outcome in outcomes:
        in_order = apply_outcome(in_order, outcome)
    shuffled = REQUESTED
    for outcome in arrivals:
        shuffled = apply_outcome(shuffled, outcome)
    assert shuffled == in_order
