"""The placement lifecycle: offers, parental agreement, start, end, cancellations, extensions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import product
from typing import Any
from uuid import UUID

import pytest

from lfi_placements.domain.errors import (
    IllegalTransition,
    OfferExpired,
    OfferStillOpen,
    OverlappingPlacement,
    PlannedEndInvalid,
    ProvisionFull,
    ProvisionUnsuitable,
)
from lfi_placements.domain.events import (
    PlacementAccepted,
    PlacementCancelled,
    PlacementEnded,
    PlacementOffered,
    PlacementStarted,
)
from lfi_placements.domain.identifiers import YearGroup
from lfi_placements.domain.placement import (
    OfferPolicy,
    ParentalAgreement,
    Placement,
    offer_place,
)
from lfi_placements.domain.stay import StayRule
from lfi_placements.domain.vocabulary import (
    CancellationReason,
    EndOutcome,
    ParentalResponsibility,
    PlacementStatus,
    ProvisionKind,
    RequestStatus,
)
from lfi_shared.http.problems import Conflict, InvalidRequest

Factory = Callable[..., Any]
AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
TODAY = date(2026, 1, 5)
POLICY = OfferPolicy(valid_days=10)


def agreement(on: date = date(2026, 1, 7)) -> ParentalAgreement:
    return ParentalAgreement(given_by=ParentalResponsibility.PARENT, agreed_on=on,
                             recorded_by="officer-17", recorded_at=AT)


def in_status(make_placement: Factory, status: PlacementStatus) -> Placement:
    """A placement brought to ``status`` through the legal path."""
    offered: Placement = make_placement(1)
    paths: dict[PlacementStatus, Callable[[Placement], Placement]] = {
        PlacementStatus.OFFERED: lambda p: p,
        PlacementStatus.ACCEPTED: lambda p: p.accept(agreement(), at=AT)[0],
        PlacementStatus.ACTIVE: lambda p: paths[PlacementStatus.ACCEPTED](p).start(
            date(2026, 1, 12), at=AT)[0],
        PlacementStatus.ENDED: lambda p: paths[PlacementStatus.ACTIVE](p).end(
            date(2026, 3, 27), EndOutcome.RETURNED_TO_HOME_SCHOOL, at=AT)[0],
        PlacementStatus.DECLINED: lambda p: p.decline(at=AT)[0],
        PlacementStatus.WITHDRAWN: lambda p: p.withdraw(at=AT)[0],
        PlacementStatus.EXPIRED: lambda p: p.expire(today=date(2026, 1, 16), at=AT)[0],
    }
    placement = paths[status](offered)
    assert placement.status is status
    return placement


ACTIONS: dict[str, Callable[[Placement], tuple[Placement, Any]]] = {
    "accept": lambda p: p.accept(agreement(), at=AT),
    "decline": lambda p: p.decline(at=AT),
    "withdraw": lambda p: p.withdraw(at=AT),
    "expire": lambda p: p.expire(today=date(2026, 1, 16), at=AT),
    "start": lambda p: p.start(date(2026, 1, 12), at=AT),
    "end": lambda p: p.end(date(2026, 3, 27), EndOutcome.OTHER, at=AT),
}

LEGAL = {
    (PlacementStatus.OFFERED, "accept"),
    (PlacementStatus.OFFERED, "decline"),
    (PlacementStatus.OFFERED, "withdraw"),
    (PlacementStatus.OFFERED, "expire"),
    (PlacementStatus.ACCEPTED, "start"),
    (PlacementStatus.ACCEPTED, "withdraw"),
    (PlacementStatus.ACTIVE, "end"),
}
ILLEGAL = sorted(set(product(PlacementStatus, ACTIONS)) - LEGAL)


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_illegal_transition_is_a_conflict(make_placement: Factory, status: PlacementStatus,
                                          action: str) -> None:
    placement = in_status(make_placement, status)
    with pytest.raises(IllegalTransition) as caught:
        ACTIONS[action](placement)
    assert isinstance(caught.value, Conflict)
    assert caught.value.status == 409
    assert caught.value.extra["current_status"] == status.value


@pytest.mark.parametrize(("status", "action"), sorted(LEGAL))
def test_legal_transition_is_allowed(make_placement: Factory, status: PlacementStatus,
                                     action: str) -> None:
    changed, _event = ACTIONS[action](in_status(make_placement, status))
    assert changed.status is not status


@pytest.mark.parametrize(("status", "holds"), [
    (PlacementStatus.OFFERED, True), (PlacementStatus.ACCEPTED, True),
    (PlacementStatus.ACTIVE, True), (PlacementStatus.DECLINED, False),
    (PlacementStatus.WITHDRAWN, False), (PlacementStatus.EXPIRED, False),
    (PlacementStatus.ENDED, False),
])
def test_which_statuses_hold_a_place(make_placement: Factory, status: PlacementStatus,
                                     holds: bool) -> None:
    assert in_status(make_placement, status).holds_place is holds


def test_accepting_records_who_agreed_and_when(make_placement: Factory) -> None:
    accepted, event = make_placement(1).accept(agreement(), at=AT)
    assert accepted.agreement == agreement()
    assert isinstance(event, PlacementAccepted)
    assert event.agreed_by is ParentalResponsibility.PARENT
    assert event.recorded_by == "officer-17"


def test_agreement_after_the_offer_expired_is_refused(make_placement: Factory) -> None:
    with pytest.raises(OfferExpired, match="expired on 15 January 2026"):
        make_placement(1).accept(agreement(on=date(2026, 1, 16)), at=AT)


def test_agreement_on_the_expiry_day_is_in_time(make_placement: Factory) -> None:
    accepted, _ = make_placement(1).accept(agreement(on=date(2026, 1, 15)), at=AT)
    assert accepted.status is PlacementStatus.ACCEPTED


def test_an_offer_cannot_expire_before_its_expiry_date(make_placement: Factory) -> None:
    with pytest.raises(OfferStillOpen, match="open until 15 January 2026"):
        make_placement(1).expire(today=date(2026, 1, 15), at=AT)


def test_an_expired_offer_frees_its_place(make_placement: Factory) -> None:
    expired, event = make_placement(1).expire(today=date(2026, 1, 16), at=AT)
    assert not expired.holds_place
    assert isinstance(event, PlacementCancelled)
    assert event.reason is CancellationReason.EXPIRED


def test_offer_expiry_follows_the_configured_days() -> None:
    assert OfferPolicy(valid_days=3).expires_on(date(2026, 1, 5)) == date(2026, 1, 8)


def test_starting_and_ending_record_dates_and_outcome(make_placement: Factory) -> None:
    accepted = in_status(make_placement, PlacementStatus.ACCEPTED)
    active, started = accepted.start(date(2026, 1, 14), at=AT)
    assert isinstance(started, PlacementStarted)
    assert active.start_date == active.started_on == date(2026, 1, 14)
    ended, finished = active.end(date(2026, 3, 20), EndOutcome.NEW_MAINSTREAM_SCHOOL, at=AT)
    assert isinstance(finished, PlacementEnded)
    assert (ended.ended_on, ended.outcome) == (date(2026, 3, 20),
                                               EndOutcome.NEW_MAINSTREAM_SCHOOL)
    assert not ended.holds_place


def test_a_start_before_the_offered_start_is_refused(make_placement: Factory) -> None:
    accepted = in_status(make_placement, PlacementStatus.ACCEPTED)
    with pytest.raises(InvalidRequest) as caught:
        accepted.start(date(2026, 1, 9), at=AT)
    assert caught.value.errors is not None
    assert caught.value.errors[0].field == "body.started_on"


def test_an_end_before_the_start_is_refused(make_placement: Factory) -> None:
    active = in_status(make_placement, PlacementStatus.ACTIVE)
    with pytest.raises(InvalidRequest, match="before it started"):
        active.end(date(2026, 1, 11), EndOutcome.OTHER, at=AT)


# --- planned end and extensions ------------------------------------------------------------

def test_an_extension_within_the_term_is_allowed(make_placement: Factory,
                                                 eib_stay: StayRule) -> None:
    active = in_status(make_placement, PlacementStatus.ACTIVE).model_copy(
        update={"planned_end": date(2026, 2, 20)})
    extended, event = active.change_planned_end(date(2026, 3, 27), stay=eib_stay,
                                                free_places=1, child_placements=(), at=AT)
    assert extended.planned_end == date(2026, 3, 27)
    assert event is not None
    assert event.previous_planned_end == date(2026, 2, 20)


def test_an_extension_beyond_one_term_names_the_latest_date(make_placement: Factory,
                                                            eib_stay: StayRule) -> None:
    active = in_status(make_placement, PlacementStatus.ACTIVE)
    with pytest.raises(PlannedEndInvalid) as caught:
        active.change_planned_end(date(2026, 4, 20), stay=eib_stay, free_places=5,
                                  child_placements=(), at=AT)
    error = caught.value
    assert error.status == 422
    assert error.errors is not None
    assert error.errors[0].field == "body.planned_end"
    assert error.errors[0].code == "beyond_maximum_stay"
    assert "latest allowed end, 27 March 2026" in error.detail
    assert error.extra["latest_end"] == "2026-03-27"


def test_an_extension_needs_a_free_place(make_placement: Factory, eib_stay: StayRule) -> None:
    active = in_status(make_placement, PlacementStatus.ACTIVE).model_copy(
        update={"planned_end": date(2026, 2, 20)})
    with pytest.raises(ProvisionFull):
        active.change_planned_end(date(2026, 3, 27), stay=eib_stay, free_places=0,
                                  child_placements=(), at=AT)


def test_shortening_needs_no_free_place(make_placement: Factory, eib_stay: StayRule) -> None:
    active = in_status(make_placement, PlacementStatus.ACTIVE)
    shorter, event = active.change_planned_end(date(2026, 2, 13), stay=eib_stay,
                                               free_places=0, child_placements=(), at=AT)
    assert shorter.planned_end == date(2026, 2, 13)
    assert event is not None


def test_a_planned_end_before_the_start_is_refused(make_placement: Factory,
                                                   eib_stay: StayRule) -> None:
    active = in_status(make_placement, PlacementStatus.ACTIVE)
    with pytest.raises(PlannedEndInvalid) as caught:
        active.change_planned_end(date(2026, 1, 11), stay=eib_stay, free_places=1,
                                  child_placements=(), at=AT)
    assert caught.value.code == "before_start"


def test_an_extension_into_the_childs_next_placement_is_refused(
        make_placement: Factory, eib_stay: StayRule) -> None:
    active = in_status(make_placement, PlacementStatus.ACTIVE).model_copy(
        update={"planned_end": date(2026, 2, 20)})
    later = make_placement(8, child_id=active.child_id, provision_id=UUID(int=4),
                           start_date=date(2026, 3, 9), planned_end=date(2026, 3, 27))
    with pytest.raises(OverlappingPlacement):
        active.change_planned_end(date(2026, 3, 27), stay=eib_stay, free_places=3,
                                  child_placements=(active, later), at=AT)
    extended, _ = active.change_planned_end(date(2026, 3, 6), stay=eib_stay, free_places=3,
                                            child_placements=(active, later), at=AT)
    assert extended.planned_end == date(2026, 3, 6)


@pytest.mark.parametrize("status", [PlacementStatus.ENDED, PlacementStatus.DECLINED,
                                    PlacementStatus.WITHDRAWN, PlacementStatus.EXPIRED])
def test_a_closed_placement_cannot_be_extended(make_placement: Factory, eib_stay: StayRule,
                                               status: PlacementStatus) -> None:
    with pytest.raises(IllegalTransition):
        in_status(make_placement, status).change_planned_end(
            date(2026, 3, 20), stay=eib_stay, free_places=1, child_placements=(), at=AT)


def test_an_apc_planned_end_past_three_terms_is_refused(make_placement: Factory,
                                                        apc_stay: StayRule) -> None:
    active = in_status(make_placement, PlacementStatus.ACTIVE).model_copy(
        update={"provision_type": ProvisionKind.APC, "start_date": date(2026, 2, 1),
                "planned_end": date(2026, 12, 18)})
    with pytest.raises(PlannedEndInvalid, match="latest allowed end, 18 December 2026"):
        active.change_planned_end(date(2027, 1, 8), stay=apc_stay, free_places=3,
                                  child_placements=(), at=AT)


# --- offering a place ----------------------------------------------------------------------

def offer(make_request: Factory, make_provision: Factory, stay: StayRule,
          **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "placement_id": UUID(int=9), "request": make_request(1), "provision": make_provision(1),
        "stay": stay, "free_places": 1, "child_placements": (), "policy": POLICY,
        "today": TODAY, "at": AT,
    }
    fields.update(overrides)
    return offer_place(**fields)


def test_an_offer_runs_to_the_latest_end_by_default(make_request: Factory,
                                                    make_provision: Factory,
                                                    eib_stay: StayRule) -> None:
    made = offer(make_request, make_provision, eib_stay)
    assert made.placement.status is PlacementStatus.OFFERED
    assert (made.placement.start_date, made.placement.planned_end) == (date(2026, 1, 12),
                                                                       date(2026, 3, 27))
    assert made.placement.offer_expires_on == date(2026, 1, 15)
    assert made.request.status is RequestStatus.OFFERED
    assert isinstance(made.event, PlacementOffered)


def test_an_eib_offer_past_one_term_is_refused(make_request: Factory, make_provision: Factory,
                                               eib_stay: StayRule) -> None:
    with pytest.raises(PlannedEndInvalid, match="27 March 2026"):
        offer(make_request, make_provision, eib_stay, planned_end=date(2026, 4, 17))


def test_an_eib_planned_end_one_day_past_the_term_is_refused(
        make_request: Factory, make_provision: Factory, eib_stay: StayRule) -> None:
    made = offer(make_request, make_provision, eib_stay, planned_end=date(2026, 3, 27))
    assert made.placement.planned_end == date(2026, 3, 27)
    with pytest.raises(PlannedEndInvalid, match="latest allowed end, 27 March 2026"):
        offer(make_request, make_provision, eib_stay, planned_end=date(2026, 3, 28))


def test_an_apc_offer_past_three_terms_is_refused(make_request: Factory,
                                                  make_provision: Factory,
                                                  apc_stay: StayRule) -> None:
    with pytest.raises(PlannedEndInvalid, match="latest allowed end, 17 July 2026"):
        offer(make_request, make_provision, apc_stay,
              request=make_request(1, provision_type=ProvisionKind.APC,
                                   requested_start=date(2025, 9, 15)),
              provision=make_provision(1, provision_type=ProvisionKind.APC),
              today=date(2025, 9, 1), planned_end=date(2026, 9, 10))


def test_an_offer_when_full_is_refused(make_request: Factory, make_provision: Factory,
                                       eib_stay: StayRule) -> None:
    with pytest.raises(ProvisionFull):
        offer(make_request, make_provision, eib_stay, free_places=0)


def test_an_offer_overlapping_the_childs_placement_is_refused(
        make_request: Factory, make_provision: Factory, make_placement: Factory,
        eib_stay: StayRule) -> None:
    other = make_placement(7, child_id=UUID(int=2001), provision_id=UUID(int=5),
                           start_date=date(2026, 3, 2), planned_end=date(2026, 3, 27))
    with pytest.raises(OverlappingPlacement):
        offer(make_request, make_provision, eib_stay, child_placements=(other,))


def test_an_ended_placement_does_not_block_a_new_offer(
        make_request: Factory, make_provision: Factory, make_placement: Factory,
        eib_stay: StayRule) -> None:
    ended = in_status(make_placement, PlacementStatus.ENDED)
    assert offer(make_request, make_provision, eib_stay, child_placements=(ended,)).placement


@pytest.mark.parametrize("provision_changes", [
    {"provision_type": ProvisionKind.APC},
    {"year_groups": frozenset({YearGroup.Y3, YearGroup.Y4})},
    {"opening_date": date(2026, 2, 1)},
])
def test_an_offer_at_an_unsuitable_provision_is_refused(
        make_request: Factory, make_provision: Factory, eib_stay: StayRule,
        provision_changes: dict[str, Any]) -> None:
    with pytest.raises(ProvisionUnsuitable):
        offer(make_request, make_provision, eib_stay,
              provision=make_provision(1, **provision_changes))


def test_a_request_already_offered_cannot_be_offered_again(
        make_request: Factory, make_provision: Factory, eib_stay: StayRule) -> None:
    with pytest.raises(IllegalTransition):
        offer(make_request, make_provision, eib_stay,
              request=make_request(1, status=RequestStatus.OFFERED))
