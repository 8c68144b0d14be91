"""Choosing a provision for a request, the waiting-list order, and filling a freed place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lfi_placements.domain.errors import IllegalTransition
from lfi_placements.domain.events import PlacementRequestCancelled, PlacementWaitlisted
from lfi_placements.domain.identifiers import YearGroup
from lfi_placements.domain.matching import (
    Candidate,
    choose_provision,
    next_waiting_request,
    rank_candidates,
    zone_distances,
)
from lfi_placements.domain.request import PlacementRequest, waiting_list, waiting_list_key
from lfi_placements.domain.vocabulary import (
    CancellationReason,
    Priority,
    ProvisionKind,
    ProvisionStatus,
    RequestStatus,
)

Factory = Callable[..., Any]
ZONE_A, ZONE_B, ZONE_C, ZONE_D = (UUID(int=n) for n in (0xA, 0xB, 0xC, 0xD))
AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
# Zone A's neighbours: B next door, C further; nobody has said how far D is.
DISTANCE = zone_distances({(ZONE_A, ZONE_B): 1, (ZONE_C, ZONE_A): 2, (ZONE_B, ZONE_C): 1})


def test_zone_distances_are_symmetric_and_zero_within_a_zone() -> None:
    assert DISTANCE(ZONE_A, ZONE_A) == 0
    assert DISTANCE(ZONE_B, ZONE_A) == DISTANCE(ZONE_A, ZONE_B) == 1
    assert DISTANCE(ZONE_A, ZONE_D) is None


def test_the_childs_own_zone_comes_first(make_request: Factory, make_provision: Factory) -> None:
    own = make_provision(5, zone_id=ZONE_A)
    near = make_provision(1, zone_id=ZONE_B)
    chosen = choose_provision(make_request(1), [Candidate(near, 9), Candidate(own, 1)], DISTANCE)
    assert chosen is not None
    assert chosen.provision.id == own.id


def test_a_full_own_zone_gives_way_to_the_nearest_zone(make_request: Factory,
                                                       make_provision: Factory) -> None:
    candidates = [
        Candidate(make_provision(1, zone_id=ZONE_A), 0),   # full
        Candidate(make_provision(2, zone_id=ZONE_C), 8),   # two zones away
        Candidate(make_provision(3, zone_id=ZONE_D), 9),   # distance unknown
        Candidate(make_provision(4, zone_id=ZONE_B), 1),   # next door
    ]
    ranked = rank_candidates(make_request(1), candidates, DISTANCE)
    assert [c.provision.id.int for c in ranked] == [4, 2, 3]


def test_at_equal_distance_most_free_places_then_lowest_id(make_request: Factory,
                                                           make_provision: Factory) -> None:
    candidates = [Candidate(make_provision(n, zone_id=ZONE_B), free)
                  for n, free in ((7, 2), (3, 5), (9, 5), (1, 1))]
    ranked = rank_candidates(make_request(1), candidates, DISTANCE)
    assert [c.provision.id.int for c in ranked] == [3, 9, 7, 1]


@pytest.mark.parametrize("changes", [
    {"provision_type": ProvisionKind.APC},
    {"year_groups": frozenset({YearGroup.Y5, YearGroup.Y6})},
    {"opening_date": date(2026, 9, 1), "status": ProvisionStatus.PLANNED},
    {"status": ProvisionStatus.CLOSED, "closed_on": date(2026, 1, 1)},
])
def test_unsuitable_provisions_are_never_chosen(make_request: Factory, make_provision: Factory,
                                                changes: dict[str, Any]) -> None:
    unsuitable = Candidate(make_provision(1, **changes), 10)
    assert choose_provision(make_request(1), [unsuitable], DISTANCE) is None


def test_a_provision_opening_on_the_start_day_can_be_chosen(make_request: Factory,
                                                            make_provision: Factory) -> None:
    opening = make_provision(1, opening_date=date(2026, 1, 12), status=ProvisionStatus.PLANNED)
    assert choose_provision(make_request(1), [Candidate(opening, 10)], DISTANCE) is not None


# --- waiting list ---------------------------------------------------------------------------

def waiting(make_request: Factory, n: int, priority: Priority, minute: int,
            **changes: Any) -> PlacementRequest:
    request: PlacementRequest = make_request(
        n, priority=priority, status=RequestStatus.WAITING,
        requested_at=datetime(2026, 1, 5, 9, minute, tzinfo=UTC), **changes)
    return request


def test_waiting_list_orders_by_priority_then_time_then_id(make_request: Factory) -> None:
    requests = [
        waiting(make_request, 1, Priority.STANDARD, 0),
        waiting(make_request, 2, Priority.HIGH, 30),
        waiting(make_request, 3, Priority.AT_RISK_OF_PERMANENT_EXCLUSION, 50),
        waiting(make_request, 4, Priority.HIGH, 10),
        waiting(make_request, 6, Priority.STANDARD, 0),
        waiting(make_request, 5, Priority.STANDARD, 0),
        make_request(7, priority=Priority.AT_RISK_OF_PERMANENT_EXCLUSION,
                     status=RequestStatus.CANCELLED),
    ]
    assert [r.id.int - 1000 for r in waiting_list(requests)] == [3, 4, 2, 1, 5, 6]


@given(st.lists(st.tuples(st.sampled_from(Priority), st.integers(0, 10_000)), min_size=2,
                max_size=30))
def test_no_one_waits_behind_a_less_urgent_request(entries: list[tuple[Priority, int]]) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    requests = [
        PlacementRequest(id=UUID(int=n), child_id=UUID(int=n), home_school_urn="100000",
                         zone_id=ZONE_A, year_group=YearGroup.Y8,
                         provision_type=ProvisionKind.EIB, priority=priority,
                         requested_start=date(2026, 1, 12),
                         requested_at=base + timedelta(minutes=minutes),
                         status=RequestStatus.WAITING)
        for n, (priority, minutes) in enumerate(entries)
    ]
    order = list(Priority)
    ordered = waiting_list(requests)
    for ahead, behind in pairwise(ordered):
        assert order.index(ahead.priority) <= order.index(behind.priority)
        if ahead.priority == behind.priority:
            assert waiting_list_key(ahead) < waiting_list_key(behind)


def test_a_freed_place_goes_to_the_most_urgent_suitable_request(
        make_request: Factory, make_provision: Factory) -> None:
    base = make_provision(1)
    requests = [
        waiting(make_request, 1, Priority.STANDARD, 0),
        waiting(make_request, 2, Priority.AT_RISK_OF_PERMANENT_EXCLUSION, 5,
                year_group=YearGroup.Y4),  # the base does not take year 4
        waiting(make_request, 3, Priority.HIGH, 20),
        waiting(make_request, 4, Priority.HIGH, 40, provision_type=ProvisionKind.APC),
    ]
    match = next_waiting_request(base, requests, date(2026, 2, 2), lambda start: 1)
    assert match is not None
    assert match.request.id.int == 1003
    assert match.start_date == date(2026, 2, 2)  # requested 12 Jan, place frees 2 Feb


def test_a_request_waits_for_a_provision_to_open(make_request: Factory,
                                                 make_provision: Factory) -> None:
    planned = make_provision(1, provision_type=ProvisionKind.APC,
                             opening_date=date(2026, 9, 1), status=ProvisionStatus.PLANNED)
    request = waiting(make_request, 1, Priority.HIGH, 0, provision_type=ProvisionKind.APC,
                      requested_start=date(2026, 2, 1))
    assert choose_provision(request, [Candidate(planned, 10)], DISTANCE) is None
    assert next_waiting_request(planned, [request], date(2026, 3, 1), lambda s: 10) is None
    match = next_waiting_request(planned, [request], date(2026, 9, 1), lambda s: 10)
    assert match is not None
    assert match.start_date == date(2026, 9, 1)


def test_a_request_is_skipped_when_its_stay_finds_no_room(make_request: Factory,
                                                          make_provision: Factory) -> None:
    requests = [waiting(make_request, 1, Priority.HIGH, 0, requested_start=date(2026, 3, 2)),
                waiting(make_request, 2, Priority.STANDARD, 0)]
    # Another placement takes the place again from 2 March.
    def free_from(start: date) -> int:
        return 0 if start >= date(2026, 3, 2) else 1
    match = next_waiting_request(make_provision(1), requests, date(2026, 2, 2), free_from)
    assert match is not None
    assert match.request.id.int == 1002


# --- request lifecycle ----------------------------------------------------------------------

def test_a_declined_offer_closes_the_request(make_request: Factory) -> None:
    offered = make_request(1, status=RequestStatus.OFFERED)
    closed, event = offered.after_offer_closed(CancellationReason.DECLINED, AT)
    assert closed.status is RequestStatus.CANCELLED
    assert isinstance(event, PlacementRequestCancelled)


@pytest.mark.parametrize("reason", [CancellationReason.EXPIRED, CancellationReason.WITHDRAWN])
def test_an_expired_or_withdrawn_offer_keeps_the_childs_turn(
        make_request: Factory, reason: CancellationReason) -> None:
    offered = make_request(1, status=RequestStatus.OFFERED)
    back, event = offered.after_offer_closed(reason, AT)
    assert back.status is RequestStatus.WAITING
    assert back.requested_at == offered.requested_at
    assert isinstance(event, PlacementWaitlisted)


def test_a_cancelled_request_cannot_wait_again(make_request: Factory) -> None:
    with pytest.raises(IllegalTransition):
        make_request(1, status=RequestStatus.CANCELLED).waitlist(AT)
