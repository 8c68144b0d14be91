"""The maximum stay rule: a placement's planned end lies between its start and the end of the
last term the provision type allows (its ``max_stay_terms``, counted by the academic calendar).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from lfi_placements.domain.calendar import AcademicCalendar, long_date
from lfi_placements.domain.errors import PlannedEndInvalid
from lfi_placements.domain.provision import ProvisionType


@dataclass(frozen=True)
class StayRule:
    """How long a placement at one type of provision may last, on one academic calendar."""

    calendar: AcademicCalendar
    provision_type: ProvisionType

    def latest_end(self, start: date, *, field: str = "body.planned_end") -> date:
        """The latest planned end of a placement starting on ``start``. Raises
        :class:`CalendarIncomplete` (on ``field``) when the terms needed are not entered."""
        return self.calendar.latest_end(start, self.provision_type.max_stay_terms, field=field)

    def check_planned_end(self, start: date, planned_end: date,
                          *, field: str = "body.planned_end") -> None:
        """Raises :class:`PlannedEndInvalid` (on ``field``) if ``planned_end`` is before
        ``start`` or after the latest end, naming the latest allowed date, and
        :class:`CalendarIncomplete` when the calendar does not reach far enough to say."""
        if planned_end < start:
            raise PlannedEndInvalid(
                f"The planned end {long_date(planned_end)} is before the start "
                f"{long_date(start)}.",
                code="before_start", field=field)
        latest = self.latest_end(start, field=field)
        if planned_end > latest:
            terms = self.provision_type.max_stay_terms
            raise PlannedEndInvalid(
                f"The planned end {long_date(planned_end)} is after the latest allowed end, "
                f"{long_date(latest)}: a {self.provision_type.name} placement starting on "
                f"{long_date(start)} may last up to {terms} term{'s' if terms != 1 else ''}.",
                code="beyond_maximum_stay", field=field,
                extra={"latest_end": latest.isoformat()})
