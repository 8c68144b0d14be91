"""Provision types and provisions (Early Intervention Bases, Alternative Provision Centres).

A provision takes placements from its opening date until it closes; its capacity may not drop
below the places held on any day from today on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from lfi_placements.domain.calendar import long_date
from lfi_placements.domain.errors import (
    CapacityBelowPlacesHeld,
    IllegalTransition,
    ProvisionTypeNotFound,
)
from lfi_placements.domain.events import ProvisionCapacityChanged
from lfi_placements.domain.identifiers import URN, YearGroup, ZoneId
from lfi_placements.domain.occupancy import HoldsPlace, peak_held
from lfi_placements.domain.vocabulary import ProvisionKind, ProvisionStatus


class ProvisionType(BaseModel):
    """A type of provision and its rules, as data: how many terms a stay may last, and the
    programme's published targets (for context in county totals)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ProvisionKind
    name: str = Field(min_length=1, max_length=200)
    max_stay_terms: int = Field(ge=1)
    programme_provisions: int | None = Field(default=None, ge=0)
    programme_places: int | None = Field(default=None, ge=0)


def provision_type_for(types: Iterable[ProvisionType], code: ProvisionKind) -> ProvisionType:
    """The configured type with ``code``; raises :class:`ProvisionTypeNotFound`."""
    for provision_type in types:
        if provision_type.code == code:
            return provision_type
    raise ProvisionTypeNotFound(f"No provision type '{code.value}' is configured.")


class Provision(BaseModel):
    """An EIB or APC: where it is, whom it serves, how many places it has, when it is open."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    provision_type: ProvisionKind
    name: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=0)
    zone_id: ZoneId
    host_school_urn: URN
    year_groups: frozenset[YearGroup] = Field(min_length=1)
    opening_date: date
    status: ProvisionStatus = ProvisionStatus.PLANNED
    closed_on: date | None = None

    @model_validator(mode="after")
    def _closed_has_a_date(self) -> Self:
        if (self.status is ProvisionStatus.CLOSED) != (self.closed_on is not None):
            raise ValueError("a provision has a closing date exactly when it is closed")
        return self

    def serves(self, year_group: YearGroup) -> bool:
        """Whether the provision takes children of ``year_group``."""
        return year_group in self.year_groups

    def accepts_placements_on(self, day: date) -> bool:
        """Whether a placement may be running on ``day``: from the opening date (whatever the
        recorded status) until the day before the closing date."""
        return self.opening_date <= day and (self.closed_on is None or day < self.closed_on)

    def accepts_placements_between(self, first: date, last: date) -> bool:
        """Whether a placement could run on every day from ``first`` to ``last``."""
        return self.accepts_placements_on(first) and self.accepts_placements_on(last)

    def change_capacity(self, capacity: int, *, placements: Iterable[HoldsPlace], today: date,
                        at: AwareDatetime) -> tuple[Provision, ProvisionCapacityChanged]:
        """The provision with ``capacity`` places, and the event recording the change.

        Raises :class:`CapacityBelowPlacesHeld` when more places than that are held on some
        day from ``today`` on (by offers, accepted or active placements), and ``ValueError``
        for a negative capacity.
        """
        if capacity < 0:
            raise ValueError("capacity cannot be negative")
        peak = peak_held(placements, self.id, today)
        if capacity < peak.places_held:
            raise CapacityBelowPlacesHeld(
                f"{self.name} cannot go down to {capacity} places: {peak.places_held} places "
                f"are held on {long_date(peak.on)}. End, move or withdraw placements first.",
                extra={"requested_capacity": capacity, "places_held": peak.places_held,
                       "held_on": peak.on.isoformat()},
            )
        changed = self.model_copy(update={"capacity": capacity})
        event = ProvisionCapacityChanged(
            occurred_at=at, provision_id=self.id, provision_type=self.provision_type,
            zone_id=self.zone_id, previous_capacity=self.capacity, capacity=capacity,
        )
        return changed, event

    def mark_open(self, today: date) -> Provision:
        """The provision recorded as open. Raises :class:`IllegalTransition` if it is not
        planned or its opening date has not come."""
        if self.status is not ProvisionStatus.PLANNED:
            raise IllegalTransition(f"{self.name} is {self.status.value}, not planned.")
        if today < self.opening_date:
            raise IllegalTransition(
                f"{self.name} opens on {long_date(self.opening_date)}, not before.")
        return self.model_copy(update={"status": ProvisionStatus.OPEN})

    def close(self, on: date, *, placements: Iterable[HoldsPlace]) -> Provision:
        """The provision closed from ``on`` (no placement may run that day or later).

        Raises :class:`IllegalTransition` if already closed and :class:`CapacityBelowPlacesHeld`
        while any place is held on or after ``on``.
        """
        if self.status is ProvisionStatus.CLOSED:
            raise IllegalTransition(f"{self.name} is already closed.")
        peak = peak_held(placements, self.id, on)
        if peak.places_held:
            raise CapacityBelowPlacesHeld(
                f"{self.name} cannot close on {long_date(on)}: {peak.places_held} places are "
                f"held on {long_date(peak.on)}. End, move or withdraw placements first.",
                extra={"requested_capacity": 0, "places_held": peak.places_held,
                       "held_on": peak.on.isoformat()},
            )
        return self.model_copy(update={"status": ProvisionStatus.CLOSED, "closed_on": on})
