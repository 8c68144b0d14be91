"""Counting the places held at a provision on a day or over a period.

A placement or offer holds a place on every day from its start to its planned end, both
included, while its status holds a place (offered, accepted, active). Everything that needs a
head count (capacity changes, matching, capacity views) counts through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID


class HoldsPlace(Protocol):
    """What occupancy needs to know of a placement (``Placement`` satisfies it)."""

    @property
    def provision_id(self) -> UUID: ...

    @property
    def start_date(self) -> date: ...

    @property
    def planned_end(self) -> date: ...

    @property
    def holds_place(self) -> bool: ...


@dataclass(frozen=True)
class Peak:
    """The most places held on any one day of a period, and the first day it happens."""

    places_held: int
    on: date


def holding(placements: Iterable[HoldsPlace], provision_id: UUID) -> list[HoldsPlace]:
    """The placements holding a place at ``provision_id`` (on some day)."""
    return [p for p in placements if p.provision_id == provision_id and p.holds_place]


def held_on(placements: Iterable[HoldsPlace], provision_id: UUID, day: date) -> int:
    """Places held at ``provision_id`` on ``day``."""
    return sum(1 for p in holding(placements, provision_id) if p.start_date <= day <= p.planned_end)


def peak_held(placements: Iterable[HoldsPlace], provision_id: UUID, first: date,
              last: date | None = None) -> Peak:
    """The most places held at ``provision_id`` on any day from ``first`` to ``last``
    (inclusive; ``None`` means with no end). A period with nobody in it peaks at 0 on ``first``.
    """
    held = [p for p in holding(placements, provision_id)
            if p.planned_end >= first and (last is None or p.start_date <= last)]
    # The count only rises on a start day, so the peak falls on ``first`` or on a start day.
    days = sorted({first, *(p.start_date for p in held if p.start_date > first)})
    best = Peak(0, first)
    for day in days:
        count = sum(1 for p in held if p.start_date <= day <= p.planned_end)
        if count > best.places_held:
            best = Peak(count, day)
    return best
