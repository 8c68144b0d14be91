"""Capacity views, worked by hand on a small example.

Today is Monday 5 January 2026 (Christmas holiday). Two provisions:

* Base 1, an EIB in zone A, 3 places, years 7-11;
* Centre 2, an APC in zone B, 4 places, years 7-11.

Placements (start → planned end):

    Base 1    a  active    6 Jan → 27 Mar
              b  accepted 19 Jan → 27 Mar
              c  offered  20 Apr → 17 Jul
              d  ended     3 Sep → 19 Dec   (holds nothing)
              e  declined  6 Jan → 27 Mar   (holds nothing)
    Centre 2  g  active    8 Sep → 27 Mar
              h  active    6 Jan → 17 Jul
              i  accepted  1 Feb →  1 May   (across the spring/summer boundary)
              j  offered  20 Apr → 17 Jul
              k  withdrawn 1 Mar → 17 Jul   (holds nothing)
              l  offered   1 Jun → 17 Jul

Spring term, counted from 6 Jan to 27 Mar:
    Base 1:   6 Jan a → 1; 19 Jan a,b → 2.          peak 2, free 3-2 = 1; starting a,b = 2;
              ending a,b = 2.
    Centre 2: 6 Jan g,h → 2; 1 Feb g,h,i → 3.       peak 3, free 4-3 = 1; starting h,i = 2
              (g started in autumn); ending g = 1.
Summer term, 15 Apr to 17 Jul:
    Base 1:   20 Apr c → 1.                         peak 1, free 2; starting 1; ending 1.
    Centre 2: 15 Apr h,i → 2; 20 Apr h,i,j → 3; 1 Jun h,j,l → 3 (i ended 1 May).
              peak 3 (first on 20 Apr), free 1; starting j,l = 2; ending h,i,j,l = 4.

Weeks for Centre 2 (Monday to Sunday, the first from today):
    5-11 Jan: 5 Jan g → 1, 6 Jan g,h → 2.     peak 2, free 2, starting h = 1
    12-18 Jan, 19-25 Jan: g,h → 2.            peak 2, free 2
    26 Jan-1 Feb: i starts Sunday 1 Feb → 3.  peak 3, free 1, starting 1

On Monday 2 February: Base 1 holds a,b = 2 (free 1); Centre 2 holds g,h,i = 3 (free 1).
Waiting: an EIB request from zone A (year 8) and an APC request from zone C (no provision
there); a cancelled request counts nowhere. County: 2 provisions, 7 places, 5 held, 2 free,
2 waiting; EIB 3/2/1 with 1 waiting; APC 4/3/1 with 1 waiting; zone C 0 places, 1 waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from lfi_placements.domain.calendar import AcademicCalendar
from lfi_placements.domain.capacity import (
    county_totals,
    free_places_over,
    places_on,
    termly_forecast,
    weekly_forecast,
)
from lfi_placements.domain.errors import CapacityBelowPlacesHeld
from lfi_placements.domain.placement import Placement
from lfi_placements.domain.provision import Provision
from lfi_placements.domain.request import PlacementRequest
from lfi_placements.domain.vocabulary import (
    PlacementStatus,
    ProvisionKind,
    RequestStatus,
)

Factory = Callable[..., Any]
ZONE_A, ZONE_B, ZONE_C = UUID(int=0xA), UUID(int=0xB), UUID(int=0xC)
TODAY = date(2026, 1, 5)
S = PlacementStatus


@pytest.fixture
def base(make_provision: Factory) -> Provision:
    provision: Provision = make_provision(1, capacity=3, zone_id=ZONE_A)
    return provision


@pytest.fixture
def centre(make_provision: Factory) -> Provision:
    provision: Provision = make_provision(2, provision_type=ProvisionKind.APC, capacity=4,
                                          zone_id=ZONE_B, opening_date=date(2025, 1, 6))
    return provision


@pytest.fixture
def placements(make_placement: Factory, base: Provision, centre: Provision) -> list[Placement]:
    rows = [
        (base, S.ACTIVE, (2026, 1, 6), (2026, 3, 27)),      # a
        (base, S.ACCEPTED, (2026, 1, 19), (2026, 3, 27)),   # b
        (base, S.OFFERED, (2026, 4, 20), (2026, 7, 17)),    # c
        (base, S.ENDED, (2025, 9, 3), (2025, 12, 19)),      # d
        (base, S.DECLINED, (2026, 1, 6), (2026, 3, 27)),    # e
        (centre, S.ACTIVE, (2025, 9, 8), (2026, 3, 27)),    # g
        (centre, S.ACTIVE, (2026, 1, 6), (2026, 7, 17)),    # h
        (centre, S.ACCEPTED, (2026, 2, 1), (2026, 5, 1)),   # i
        (centre, S.OFFERED, (2026, 4, 20), (2026, 7, 17)),  # j
        (centre, S.WITHDRAWN, (2026, 3, 1), (2026, 7, 17)),  # k
        (centre, S.OFFERED, (2026, 6, 1), (2026, 7, 17)),   # l
    ]
    return [make_placement(n, provision_id=p.id, provision_type=p.provision_type, status=status,
                           start_date=date(*start), planned_end=date(*end))
            for n, (p, status, start, end) in enumerate(rows)]


@pytest.fixture
def requests(make_request: Factory) -> list[PlacementRequest]:
    return [
        make_request(1, zone_id=ZONE_A, status=RequestStatus.WAITING),
        make_request(2, zone_id=ZONE_C, provision_type=ProvisionKind.APC,
                     status=RequestStatus.WAITING),
        make_request(3, zone_id=ZONE_A, status=RequestStatus.CANCELLED),
    ]


def figures(forecasts: Any) -> list[tuple[str, int, int, int, int, int]]:
    return [(f.label, f.capacity, f.peak_held, f.free, f.starting, f.ending) for f in forecasts]


def test_termly_forecast_worked_by_hand(base: Provision, centre: Provision,
                                        placements: list[Placement],
                                        calendar: AcademicCalendar) -> None:
    assert figures(termly_forecast(base, placements, calendar, TODAY)) == [
        ("spring 2025/26", 3, 2, 1, 2, 2),
        ("summer 2025/26", 3, 1, 2, 1, 1),
    ]
    assert figures(termly_forecast(centre, placements, calendar, TODAY)) == [
        ("spring 2025/26", 4, 3, 1, 2, 1),
        ("summer 2025/26", 4, 3, 1, 2, 4),
    ]


def test_termly_forecast_stops_at_the_terms_asked_for(base: Provision,
                                                      placements: list[Placement],
                                                      calendar: AcademicCalendar) -> None:
    assert [f.label for f in termly_forecast(base, placements, calendar, TODAY, terms=1)] == [
        "spring 2025/26"]


def test_weekly_forecast_worked_by_hand(centre: Provision, placements: list[Placement]) -> None:
    weeks = weekly_forecast(centre, placements, TODAY, weeks=4)
    assert figures(weeks) == [
        ("week of 2026-01-05", 4, 2, 2, 1, 0),
        ("week of 2026-01-12", 4, 2, 2, 0, 0),
        ("week of 2026-01-19", 4, 2, 2, 0, 0),
        ("week of 2026-01-26", 4, 3, 1, 1, 0),
    ]


def test_a_day_view_worked_by_hand(base: Provision, centre: Provision,
                                   placements: list[Placement],
                                   requests: list[PlacementRequest]) -> None:
    day = date(2026, 2, 2)
    base_day = places_on(base, placements, requests, day)
    assert (base_day.capacity, base_day.held, base_day.free, base_day.waiting) == (3, 2, 1, 1)
    centre_day = places_on(centre, placements, requests, day)
    assert (centre_day.capacity, centre_day.held, centre_day.free, centre_day.waiting) == (
        4, 3, 1, 1)


def test_county_totals_worked_by_hand(base: Provision, centre: Provision,
                                      placements: list[Placement],
                                      requests: list[PlacementRequest]) -> None:
    totals = county_totals([base, centre], placements, requests, date(2026, 2, 2))

    def row(t: Any) -> tuple[int, int, int, int, int]:
        return (t.provisions, t.capacity, t.held, t.free, t.waiting)

    assert row(totals.overall) == (2, 7, 5, 2, 2)
    assert row(totals.by_type[ProvisionKind.EIB]) == (1, 3, 2, 1, 1)
    assert row(totals.by_type[ProvisionKind.APC]) == (1, 4, 3, 1, 1)
    assert row(totals.by_zone[ZONE_A]) == (1, 3, 2, 1, 1)
    assert row(totals.by_zone[ZONE_B]) == (1, 4, 3, 1, 0)
    assert row(totals.by_zone[ZONE_C]) == (0, 0, 0, 0, 1)


def test_free_places_over_a_stay_count_its_busiest_day(centre: Provision,
                                                       placements: list[Placement]) -> None:
    # 6 Jan → 17 Jul peaks at 3 held (1 Feb, 20 Apr, 1 Jun): 4 - 3 = 1.
    assert free_places_over(centre, placements, date(2026, 1, 6), date(2026, 7, 17)) == 1
    # 2 May → 31 May: h, j only → 2 free.
    assert free_places_over(centre, placements, date(2026, 5, 2), date(2026, 5, 31)) == 2


def test_a_provision_not_yet_open_has_no_capacity_that_day(make_provision: Factory) -> None:
    planned = make_provision(3, opening_date=date(2026, 9, 1))
    day = places_on(planned, [], [], date(2026, 2, 2))
    assert (day.accepting, day.capacity, day.free) == (False, 0, 0)
    assert free_places_over(planned, [], date(2026, 8, 20), date(2026, 12, 18)) == 0


def test_a_capacity_cut_names_the_first_day_of_the_busiest_stretch(
        centre: Provision, placements: list[Placement]) -> None:
    # Centre 2 holds 3 places on 1 Feb, again from 20 Apr and from 1 Jun: the first is named.
    with pytest.raises(CapacityBelowPlacesHeld) as caught:
        centre.change_capacity(2, placements=placements, today=TODAY,
                               at=datetime(2026, 1, 5, tzinfo=UTC))
    assert caught.value.extra["held_on"] == "2026-02-01"
    assert "3 places are held on 1 February 2026" in caught.value.detail
