"""Capacity views: places held and free at a provision on a day, week by week and term by term
ahead (forecast from planned ends), and county totals by provision type and by zone.

``held`` counts offers and accepted or active placements (see :mod:`.occupancy`); ``free`` is
``capacity - held`` and goes negative only if a provision is over capacity. A provision's
capacity counts only on days it takes placements (from opening, until closure). For a period,
``peak_held`` is the most places held on any one day, so ``free`` is what could be offered for
the whole period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from lfi_placements.domain.calendar import AcademicCalendar
from lfi_placements.domain.identifiers import ZoneId
from lfi_placements.domain.matching import is_suitable
from lfi_placements.domain.occupancy import HoldsPlace, held_on, holding, peak_held
from lfi_placements.domain.provision import Provision
from lfi_placements.domain.request import PlacementRequest
from lfi_placements.domain.vocabulary import ProvisionKind, RequestStatus

DAYS_IN_WEEK = 7


@dataclass(frozen=True)
class ProvisionDay:
    """One provision's places on one day."""

    provision_id: UUID
    day: date
    accepting: bool
    capacity: int
    held: int
    free: int
    waiting: int


@dataclass(frozen=True)
class PeriodForecast:
    """One provision's places over a period (a week or a term), from planned starts and ends."""

    provision_id: UUID
    label: str
    first: date
    last: date
    capacity: int
    peak_held: int
    free: int
    starting: int  # placements whose start falls in the period
    ending: int    # placements whose planned end falls in the period


@dataclass(frozen=True)
class Totals:
    """Summed figures for a group of provisions on one day."""

    provisions: int  # provisions taking placements that day
    capacity: int
    held: int
    free: int
    waiting: int


@dataclass(frozen=True)
class CountyTotals:
    """County figures on one day: overall, by provision type, by zone."""

    day: date
    overall: Totals
    by_type: Mapping[ProvisionKind, Totals]
    by_zone: Mapping[ZoneId, Totals]


def _accepts_during(provision: Provision, first: date, last: date) -> bool:
    return provision.opening_date <= last and (
        provision.closed_on is None or provision.closed_on > first)


def waiting_for(provision: Provision, requests: Iterable[PlacementRequest], day: date) -> int:
    """Waiting requests that ``provision`` suits, were a place free on ``day``."""
    return sum(1 for r in requests if r.status is RequestStatus.WAITING
               and is_suitable(r, provision, max(r.requested_start, day)))


def places_on(provision: Provision, placements: Iterable[HoldsPlace],
              requests: Iterable[PlacementRequest], day: date) -> ProvisionDay:
    """Capacity, places held and free, and waiting requests at ``provision`` on ``day``."""
    accepting = provision.accepts_placements_on(day)
    capacity = provision.capacity if accepting else 0
    held = held_on(placements, provision.id, day)
    return ProvisionDay(provision_id=provision.id, day=day, accepting=accepting,
                        capacity=capacity, held=held, free=capacity - held,
                        waiting=waiting_for(provision, requests, day))


def free_places_over(provision: Provision, placements: Iterable[HoldsPlace], first: date,
                     last: date) -> int:
    """Places free on every day from ``first`` to ``last`` (0 if the provision does not take
    placements throughout); the figure to check before an offer or an extension."""
    if not provision.accepts_placements_between(first, last):
        return 0
    return provision.capacity - peak_held(placements, provision.id, first, last).places_held


def forecast_period(provision: Provision, placements: Iterable[HoldsPlace], label: str,
                    first: date, last: date) -> PeriodForecast:
    """One provision's forecast for the period ``first`` to ``last``."""
    held_here = holding(placements, provision.id)
    capacity = provision.capacity if _accepts_during(provision, first, last) else 0
    peak = peak_held(held_here, provision.id, first, last).places_held
    return PeriodForecast(
        provision_id=provision.id, label=label, first=first, last=last, capacity=capacity,
        peak_held=peak, free=capacity - peak,
        starting=sum(1 for p in held_here if first <= p.start_date <= last),
        ending=sum(1 for p in held_here if first <= p.planned_end <= last),
    )


def weekly_forecast(provision: Provision, placements: Iterable[HoldsPlace], today: date,
                    weeks: int) -> tuple[PeriodForecast, ...]:
    """``weeks`` weeks (Monday to Sunday) from the week holding ``today``; the first week
    counts from ``today``."""
    held_here = holding(placements, provision.id)
    monday = today - timedelta(days=today.weekday())
    forecasts: list[PeriodForecast] = []
    for index in range(weeks):
        week_start = monday + timedelta(days=DAYS_IN_WEEK * index)
        first = max(week_start, today)
        last = week_start + timedelta(days=DAYS_IN_WEEK - 1)
        forecasts.append(forecast_period(provision, held_here,
                                         f"week of {week_start.isoformat()}", first, last))
    return tuple(forecasts)


def termly_forecast(provision: Provision, placements: Iterable[HoldsPlace],
                    calendar: AcademicCalendar, today: date,
                    terms: int | None = None) -> tuple[PeriodForecast, ...]:
    """The current (or next) term and up to ``terms`` - 1 further terms entered in the
    calendar (all of them when ``terms`` is ``None``); the current term counts from ``today``.
    """
    held_here = holding(placements, provision.id)
    ahead = calendar.terms_from(today)
    chosen = ahead if terms is None else ahead[:terms]
    return tuple(forecast_period(provision, held_here, term.label, max(term.start, today),
                                 term.end) for term in chosen)


def _sum(days: Sequence[ProvisionDay], waiting: int) -> Totals:
    return Totals(provisions=sum(1 for d in days if d.accepting),
                  capacity=sum(d.capacity for d in days), held=sum(d.held for d in days),
                  free=sum(d.free for d in days), waiting=waiting)


def county_totals(provisions: Iterable[Provision], placements: Iterable[HoldsPlace],
                  requests: Iterable[PlacementRequest], day: date) -> CountyTotals:
    """County figures on ``day``. Waiting counts each waiting request once: by the type it
    asks for, and by the child's home zone (a zone may have demand but no provision)."""
    placement_list = list(placements)
    waiting = [r for r in requests if r.status is RequestStatus.WAITING]
    days = [(p, places_on(p, placement_list, (), day)) for p in provisions]
    kinds = sorted({p.provision_type for p, _ in days} | {r.provision_type for r in waiting})
    zones = sorted({p.zone_id for p, _ in days} | {r.zone_id for r in waiting})
    by_type = {kind: _sum([d for p, d in days if p.provision_type == kind],
                          sum(1 for r in waiting if r.provision_type == kind))
               for kind in kinds}
    by_zone = {zone: _sum([d for p, d in days if p.zone_id == zone],
                          sum(1 for r in waiting if r.zone_id == zone))
               for zone in zones}
    return CountyTotals(day=day, overall=_sum([d for _, d in days], len(waiting)),
                        by_type=by_type, by_zone=by_zone)
