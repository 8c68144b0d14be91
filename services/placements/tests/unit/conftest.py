"""Factories for the placements domain's unit tests (no database, no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from lfi_placements.domain.calendar import AcademicCalendar, Term, TermName
from lfi_placements.domain.identifiers import YearGroup
from lfi_placements.domain.placement import Placement
from lfi_placements.domain.provision import Provision, provision_type_for
from lfi_placements.domain.reference_data import seed_provision_types, seed_terms
from lfi_placements.domain.request import PlacementRequest
from lfi_placements.domain.stay import StayRule
from lfi_placements.domain.vocabulary import (
    Priority,
    ProvisionKind,
    ProvisionStatus,
)

ZONE_A = UUID(int=0xA)
SECONDARY = frozenset({YearGroup.Y7, YearGroup.Y8, YearGroup.Y9, YearGroup.Y10, YearGroup.Y11})


def _terms_2026_27() -> tuple[Term, ...]:
    """Illustrative 2026/27 dates (not Norfolk's published ones): an officer's later entry."""
    return (
        Term(academic_year="2026/27", name=TermName.AUTUMN,
             start=date(2026, 9, 2), end=date(2026, 12, 18)),
        Term(academic_year="2026/27", name=TermName.SPRING,
             start=date(2027, 1, 5), end=date(2027, 3, 26)),
        Term(academic_year="2026/27", name=TermName.SUMMER,
             start=date(2027, 4, 12), end=date(2027, 7, 21)),
    )


def _stay_rule(kind: ProvisionKind, calendar: AcademicCalendar) -> StayRule:
    return StayRule(calendar=calendar,
                    provision_type=provision_type_for(seed_provision_types(), kind))


@pytest.fixture
def terms_2026_27() -> tuple[Term, ...]:
    return _terms_2026_27()


@pytest.fixture
def stay_for() -> Callable[[ProvisionKind, AcademicCalendar], StayRule]:
    return _stay_rule


@pytest.fixture
def calendar() -> AcademicCalendar:
    """Only the seeded 2025/26 terms."""
    return AcademicCalendar(seed_terms())


@pytest.fixture
def long_calendar() -> AcademicCalendar:
    """2025/26 and 2026/27."""
    return AcademicCalendar((*seed_terms(), *_terms_2026_27()))


@pytest.fixture
def eib_stay(calendar: AcademicCalendar) -> StayRule:
    return _stay_rule(ProvisionKind.EIB, calendar)


@pytest.fixture
def apc_stay(long_calendar: AcademicCalendar) -> StayRule:
    return _stay_rule(ProvisionKind.APC, long_calendar)


def _provision(n: int, **overrides: Any) -> Provision:
    fields: dict[str, Any] = {
        "id": UUID(int=n), "provision_type": ProvisionKind.EIB, "name": f"Base {n}",
        "capacity": 10, "zone_id": ZONE_A, "host_school_urn": "121212",
        "year_groups": SECONDARY, "opening_date": date(2025, 9, 1),
        "status": ProvisionStatus.OPEN,
    }
    fields.update(overrides)
    return Provision(**fields)


def _request(n: int, **overrides: Any) -> PlacementRequest:
    fields: dict[str, Any] = {
        "id": UUID(int=1000 + n), "child_id": UUID(int=2000 + n),
        "home_school_urn": "121212", "zone_id": ZONE_A, "year_group": YearGroup.Y8,
        "provision_type": ProvisionKind.EIB, "priority": Priority.STANDARD,
        "requested_start": date(2026, 1, 12),
        "requested_at": datetime(2026, 1, 5, 9, n % 60, tzinfo=UTC),
    }
    fields.update(overrides)
    return PlacementRequest(**fields)


def _placement(n: int, **overrides: Any) -> Placement:
    fields: dict[str, Any] = {
        "id": UUID(int=3000 + n), "request_id": UUID(int=1000 + n),
        "child_id": UUID(int=2000 + n), "provision_id": UUID(int=1),
        "provision_type": ProvisionKind.EIB, "start_date": date(2026, 1, 12),
        "planned_end": date(2026, 3, 27), "offered_on": date(2026, 1, 5),
        "offer_expires_on": date(2026, 1, 15),
    }
    fields.update(overrides)
    return Placement(**fields)


Factory = Callable[..., Any]


@pytest.fixture
def make_provision() -> Factory:
    return _provision


@pytest.fixture
def make_request() -> Factory:
    return _request


@pytest.fixture
def make_placement() -> Factory:
    return _placement
