"""Errors the placements domain raises; each is a problem type of :mod:`lfi_shared.http.problems`.

The service maps them to RFC 9457 responses by their class attributes (status, slug, title);
the messages are written for the placements officer who will read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lfi_shared.http.problems import Conflict, FieldError, InvalidRequest, NotFound


class CalendarInvalid(InvalidRequest):
    """The term dates given do not form a valid academic calendar (one error per fault)."""

    problem_type = "calendar-invalid"
    title = "The term dates are not valid"


class CalendarIncomplete(InvalidRequest):
    """A date needs terms the academic calendar does not hold yet; the officer must enter them."""

    problem_type = "calendar-incomplete"
    title = "The academic calendar does not reach far enough"

    def __init__(self, detail: str, *, field: str, missing_academic_year: str) -> None:
        super().__init__(
            detail,
            errors=[FieldError(field=field, message=detail, code="calendar_incomplete")],
            extra={"missing_academic_year": missing_academic_year},
        )
        self.missing_academic_year = missing_academic_year


class PlannedEndInvalid(InvalidRequest):
    """A planned end is before the start or beyond the provision type's maximum stay."""

    problem_type = "planned-end-invalid"
    title = "The planned end is not allowed"

    def __init__(self, detail: str, *, code: str, field: str = "body.planned_end",
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail, errors=[FieldError(field=field, message=detail, code=code)],
                         extra=extra)
        self.code = code


class IllegalTransition(Conflict):
    """A placement or request cannot move from its current status to the one asked for."""

    problem_type = "illegal-transition"
    title = "That change is not possible in the current status"


class OfferExpired(Conflict):
    """An offer was acted on after its expiry date."""

    problem_type = "offer-expired"
    title = "The offer has expired"


class OfferStillOpen(Conflict):
    """An offer was marked expired before its expiry date had passed."""

    problem_type = "offer-still-open"
    title = "The offer has not expired yet"


class CapacityBelowPlacesHeld(Conflict):
    """A capacity change or closure would leave fewer places than children holding them."""

    problem_type = "capacity-below-places-held"
    title = "Capacity cannot go below the places held"


class ProvisionFull(Conflict):
    """No place is free at the provision over the period asked for."""

    problem_type = "provision-full"
    title = "No place is free"


class ProvisionUnsuitable(Conflict):
    """The provision cannot take this placement (type, year group, opening or closure)."""

    problem_type = "provision-unsuitable"
    title = "The provision cannot take this placement"


class OverlappingPlacement(Conflict):
    """The child already holds a placement overlapping the period asked for."""

    problem_type = "overlapping-placement"
    title = "The child already holds a placement in that period"


class ProvisionTypeNotFound(NotFound):
    """No provision type with that code is configured."""


class ProvisionNotFound(NotFound):
    """No provision with that id."""


class PlacementNotFound(NotFound):
    """No placement with that id."""


class PlacementRequestNotFound(NotFound):
    """No placement request with that id."""
