"""Choosing a provision for a request, and the next waiting request for a freed place.

A provision suits a request when it is of the type asked for, serves the child's year group and
takes placements on the start date. Among suitable provisions with a free place, the child's own
zone comes first, then the nearest zones (distances are data passed in), then the provision with
most free places, then the lowest id, so the choice is always the same for the same facts.

A request that starts before a provision opens does not get that provision now: it waits, and is
matched when the provision opens (``next_waiting_request`` with ``on`` = the opening date).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from lfi_placements.domain.identifiers import ZoneId
from lfi_placements.domain.provision import Provision
from lfi_placements.domain.request import PlacementRequest, waiting_list

ZoneDistance = Callable[[ZoneId, ZoneId], int | None]
"""How far apart two zones are (0 for the same zone); ``None`` when nobody has said."""

FreePlacesFrom = Callable[[date], int]
"""Free places at one provision over the whole stay of a placement starting on a date."""


def zone_distances(distances: Mapping[tuple[ZoneId, ZoneId], int]) -> ZoneDistance:
    """A :data:`ZoneDistance` from a table of pairs (either order); a zone is 0 from itself
    and a pair missing from the table has no known distance."""

    def distance(a: ZoneId, b: ZoneId) -> int | None:
        if a == b:
            return 0
        return distances.get((a, b), distances.get((b, a)))

    return distance


@dataclass(frozen=True)
class Candidate:
    """A provision considered for a request, with its places free on every day of the stay
    the request would have there."""

    provision: Provision
    free_places: int


@dataclass(frozen=True)
class WaitingMatch:
    """A waiting request chosen for a freed place, and the day its placement would start."""

    request: PlacementRequest
    start_date: date


def is_suitable(request: PlacementRequest, provision: Provision, start: date) -> bool:
    """Whether ``provision`` could take the child of ``request`` from ``start``."""
    return (provision.provision_type == request.provision_type
            and provision.serves(request.year_group)
            and provision.accepts_placements_on(start))


def _preference(request: PlacementRequest, distance: ZoneDistance
                ) -> Callable[[Candidate], tuple[bool, int, int, UUID]]:
    def key(candidate: Candidate) -> tuple[bool, int, int, UUID]:
        apart = distance(request.zone_id, candidate.provision.zone_id)
        # Zones with no known distance come after every zone with one.
        return (apart is None, apart or 0, -candidate.free_places, candidate.provision.id)
    return key


def rank_candidates(request: PlacementRequest, candidates: Iterable[Candidate],
                    distance: ZoneDistance) -> list[Candidate]:
    """The suitable candidates with a free place, best first."""
    usable = [c for c in candidates
              if c.free_places > 0 and is_suitable(request, c.provision, request.requested_start)]
    return sorted(usable, key=_preference(request, distance))


def choose_provision(request: PlacementRequest, candidates: Iterable[Candidate],
                     distance: ZoneDistance) -> Candidate | None:
    """The provision to offer, or ``None`` if the request must wait."""
    ranked = rank_candidates(request, candidates, distance)
    return ranked[0] if ranked else None


def next_waiting_request(provision: Provision, requests: Iterable[PlacementRequest], on: date,
                         free_places_from: FreePlacesFrom) -> WaitingMatch | None:
    """The first waiting request, in waiting-list order, that ``provision`` suits and has room
    for, once a place frees (or the provision opens) on ``on``.

    A request's placement would start on the later of its requested start and ``on``.
    """
    for request in waiting_list(requests):
        start = max(request.requested_start, on)
        if is_suitable(request, provision, start) and free_places_from(start) > 0:
            return WaitingMatch(request=request, start_date=start)
    return None
