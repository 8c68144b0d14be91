"""Provisions: opening and closing, capacity changes against the places held."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from lfi_placements.domain.errors import (
    CapacityBelowPlacesHeld,
    IllegalTransition,
    ProvisionTypeNotFound,
)
from lfi_placements.domain.provision import provision_type_for
from lfi_placements.domain.reference_data import seed_provision_types
from lfi_placements.domain.vocabulary import PlacementStatus, ProvisionKind, ProvisionStatus
from lfi_shared.http.problems import Conflict

Factory = Callable[..., Any]
AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
TODAY = date(2026, 1, 5)


def test_maximum_stays_are_data_on_the_provision_type() -> None:
    types = seed_provision_types()
    assert provision_type_for(types, ProvisionKind.EIB).max_stay_terms == 1
    assert provision_type_for(types, ProvisionKind.APC).max_stay_terms == 3


def test_an_unconfigured_type_is_not_found() -> None:
    with pytest.raises(ProvisionTypeNotFound):
        provision_type_for((), ProvisionKind.EIB)


@pytest.mark.parametrize(("day", "accepts"), [
    (date(2026, 8, 31), False), (date(2026, 9, 1), True), (date(2027, 3, 31), True),
    (date(2027, 4, 1), False),
])
def test_a_provision_takes_placements_from_opening_until_closure(
        make_provision: Factory, day: date, accepts: bool) -> None:
    centre = make_provision(1, opening_date=date(2026, 9, 1), status=ProvisionStatus.CLOSED,
                            closed_on=date(2027, 4, 1))
    assert centre.accepts_placements_on(day) is accepts


def test_a_provision_with_a_bad_urn_or_negative_capacity_is_refused(
        make_provision: Factory) -> None:
    with pytest.raises(ValidationError):
        make_provision(1, host_school_urn="12345")
    with pytest.raises(ValidationError):
        make_provision(1, capacity=-1)


def test_capacity_below_the_places_held_from_today_is_refused_with_the_numbers(
        make_provision: Factory, make_placement: Factory) -> None:
    base = make_provision(1, capacity=4)
    placements = [
        make_placement(1, start_date=date(2026, 1, 6), planned_end=date(2026, 3, 27)),
        make_placement(2, start_date=date(2026, 1, 19), planned_end=date(2026, 3, 27)),
        make_placement(3, start_date=date(2026, 2, 2), planned_end=date(2026, 3, 27)),
        # Ended and declined placements, and other provisions' placements, hold nothing here.
        make_placement(4, start_date=date(2026, 1, 6), planned_end=date(2026, 3, 27),
                       status=PlacementStatus.DECLINED),
        make_placement(5, start_date=date(2026, 1, 6), planned_end=date(2026, 3, 27),
                       provision_id=make_provision(2).id),
    ]
    with pytest.raises(CapacityBelowPlacesHeld) as caught:
        base.change_capacity(2, placements=placements, today=TODAY, at=AT)
    error = caught.value
    assert isinstance(error, Conflict)
    assert error.extra == {"requested_capacity": 2, "places_held": 3, "held_on": "2026-02-02"}
    assert "3 places are held on 2 February 2026" in error.detail

    changed, event = base.change_capacity(3, placements=placements, today=TODAY, at=AT)
    assert changed.capacity == 3
    assert (event.previous_capacity, event.capacity) == (4, 3)


def test_places_held_only_in_the_past_do_not_limit_capacity(make_provision: Factory,
                                                            make_placement: Factory) -> None:
    past = [make_placement(n, start_date=date(2025, 9, 8), planned_end=date(2025, 12, 19),
                           status=PlacementStatus.ACTIVE) for n in range(5)]
    changed, _ = make_provision(1, capacity=5).change_capacity(0, placements=past, today=TODAY,
                                                                at=AT)
    assert changed.capacity == 0


def test_closing_is_refused_while_places_are_held(make_provision: Factory,
                                                  make_placement: Factory) -> None:
    held = [make_placement(1, start_date=date(2026, 1, 6), planned_end=date(2026, 3, 27))]
    with pytest.raises(CapacityBelowPlacesHeld):
        make_provision(1).close(date(2026, 3, 1), placements=held)
    closed = make_provision(1).close(date(2026, 3, 28), placements=held)
    assert closed.status is ProvisionStatus.CLOSED
    assert not closed.accepts_placements_on(date(2026, 3, 28))


def test_a_planned_provision_opens_on_its_opening_date(make_provision: Factory) -> None:
    planned = make_provision(1, opening_date=date(2026, 9, 1), status=ProvisionStatus.PLANNED)
    with pytest.raises(IllegalTransition, match="opens on 1 September 2026"):
        planned.mark_open(date(2026, 8, 31))
    assert planned.mark_open(date(2026, 9, 1)).status is ProvisionStatus.OPEN
