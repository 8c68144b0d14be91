"""The academic calendar: terms, the term a placement starts in, and the latest end of a stay.

The academic year runs 1 September to 31 August in three terms (autumn, spring, summer). Term
dates are data entered by the placements officer year by year (the first year is seeded from
:mod:`lfi_placements.domain.reference_data`); nothing here knows any particular year's dates.

A stay is counted in terms: a placement starting mid-term counts that term as its first, one
starting in a holiday counts from the next term.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from lfi_placements.domain.errors import CalendarIncomplete, CalendarInvalid
from lfi_shared.http.problems import FieldError

ACADEMIC_YEAR_FIRST_MONTH = 9  # the academic year begins on 1 September


class TermName(StrEnum):
    """The three terms of an academic year."""

    AUTUMN = "autumn"
    SPRING = "spring"
    SUMMER = "summer"


TERM_SEQUENCE: tuple[TermName, ...] = (TermName.AUTUMN, TermName.SPRING, TermName.SUMMER)
"""The terms in the order they fall within an academic year."""

AcademicYearLabel = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}/[0-9]{2}$")]


def long_date(day: date) -> str:
    """A date as an officer reads it: ``27 March 2026``."""
    return f"{day.day} {day:%B %Y}"


def academic_year_label(first_year: int) -> str:
    """The label of the academic year beginning in September of ``first_year``: ``2025/26``."""
    return f"{first_year}/{(first_year + 1) % 100:02d}"


def academic_year_of(day: date) -> int:
    """The calendar year in which the academic year holding ``day`` began."""
    return day.year if day.month >= ACADEMIC_YEAR_FIRST_MONTH else day.year - 1


def academic_year_bounds(first_year: int) -> tuple[date, date]:
    """The first and last day (1 September, 31 August) of the academic year."""
    first_day = date(first_year, ACADEMIC_YEAR_FIRST_MONTH, 1)
    return first_day, date(first_year + 1, ACADEMIC_YEAR_FIRST_MONTH, 1) - timedelta(days=1)


def parse_academic_year(label: str) -> int | None:
    """The first calendar year of a label like ``2025/26``, or ``None`` if it is not one."""
    head, sep, tail = label.partition("/")
    if not (sep and len(head) == 4 and len(tail) == 2 and head.isdigit() and tail.isdigit()):
        return None
    first = int(head)
    return first if (first + 1) % 100 == int(tail) else None


class Term(BaseModel):
    """One term of one academic year, with its first and last school day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    academic_year: AcademicYearLabel
    name: TermName
    start: date
    end: date

    @property
    def label(self) -> str:
        """``spring 2025/26``."""
        return f"{self.name.value} {self.academic_year}"

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls within the term (first and last day included)."""
        return self.start <= day <= self.end


@dataclass(frozen=True, order=True)
class TermKey:
    """A term's place in the endless sequence of terms, independent of its dates."""

    first_year: int
    position: int  # index in TERM_SEQUENCE

    @classmethod
    def of(cls, term: Term) -> TermKey | None:
        """The key of a term, or ``None`` if its academic year label is not valid."""
        first_year = parse_academic_year(term.academic_year)
        if first_year is None:
            return None
        return cls(first_year, TERM_SEQUENCE.index(term.name))

    @property
    def academic_year(self) -> str:
        return academic_year_label(self.first_year)

    @property
    def label(self) -> str:
        return f"{TERM_SEQUENCE[self.position].value} {self.academic_year}"

    def after(self, count: int = 1) -> TermKey:
        """The term ``count`` terms later."""
        index = self.first_year * len(TERM_SEQUENCE) + self.position + count
        return TermKey(*divmod(index, len(TERM_SEQUENCE)))


class AcademicCalendar:
    """A validated, ordered, gap-free run of terms.

    Raises :class:`CalendarInvalid` on construction, naming every fault as a field error at
    ``{field_prefix}.{index}.{field}`` (the index being the position in ``terms`` as given).
    """

    __slots__ = ("_keys", "_terms")

    def __init__(self, terms: Iterable[Term], *, field_prefix: str = "body.terms") -> None:
        given = list(terms)
        errors = _term_errors(given, field_prefix)
        if not errors:
            errors = _sequence_errors(given, field_prefix)
        if errors:
            raise CalendarInvalid(
                "The term dates are not valid: " + "; ".join(e.message for e in errors),
                errors=errors,
            )
        self._terms: tuple[Term, ...] = tuple(sorted(given, key=lambda t: t.start))
        self._keys: tuple[TermKey, ...] = tuple(_key(t) for t in self._terms)

    @property
    def terms(self) -> tuple[Term, ...]:
        """Every term, earliest first."""
        return self._terms

    def term_containing(self, day: date) -> Term | None:
        """The term in which ``day`` falls, or ``None`` in a holiday or outside the calendar."""
        return next((t for t in self._terms if t.contains(day)), None)

    def term_for_start(self, day: date, *, field: str = "body.start_date") -> Term:
        """The term a placement starting on ``day`` counts as its first: the term holding the
        day, or the next term when the day falls in a holiday.

        Raises :class:`CalendarIncomplete` (on ``field``) when the calendar does not cover the day.
        """
        return self._terms[self._index_for_start(day, field)]

    def latest_end(self, start: date, max_terms: int, *, field: str = "body.planned_end") -> date:
        """The last day a stay of at most ``max_terms`` terms starting on ``start`` may run to:
        the end of the term ``max_terms - 1`` terms after the start's term.

        Raises :class:`CalendarIncomplete` (on ``field``) when the terms needed are not entered,
        and ``ValueError`` if ``max_terms`` is below one (a configuration fault).
        """
        if max_terms < 1:
            raise ValueError(f"a maximum stay must be at least one term, not {max_terms}")
        first = self._index_for_start(start, field)
        target = first + max_terms - 1
        if target < len(self._terms):
            return self._terms[target].end
        last = self._keys[-1]
        needed = self._keys[first].after(max_terms - 1)
        missing = last.after(1).academic_year
        raise CalendarIncomplete(
            f"A placement starting on {long_date(start)} may last up to {max_terms} "
            f"term{'s' if max_terms != 1 else ''}, to the end of the {needed.label} term, but the "
            f"academic calendar ends on {long_date(self._terms[-1].end)} ({last.label}). "
            f"Enter the {missing} term dates first.",
            field=field,
            missing_academic_year=missing,
        )

    def terms_from(self, day: date) -> tuple[Term, ...]:
        """The terms not yet over on ``day`` (the current or next term first)."""
        return tuple(t for t in self._terms if t.end >= day)

    def _index_for_start(self, day: date, field: str) -> int:
        if not self._terms:
            needed = academic_year_label(academic_year_of(day))
            raise CalendarIncomplete(
                f"No term dates are entered. Enter the {needed} term dates first.",
                field=field, missing_academic_year=needed,
            )
        for index, term in enumerate(self._terms):
            if day > term.end:
                continue
            if day >= term.start or index > 0:
                return index
            # Before the first term entered: only the holiday just before an autumn term is
            # known to lead into it; anything earlier belongs to a year nobody has entered.
            if (self._keys[0].position == 0
                    and academic_year_of(day) == self._keys[0].first_year):
                return 0
            needed = academic_year_label(academic_year_of(day))
            raise CalendarIncomplete(
                f"{long_date(day)} is before the first term entered ({term.label}, from "
                f"{long_date(term.start)}). Enter the {needed} term dates first.",
                field=field, missing_academic_year=needed,
            )
        missing = self._keys[-1].after(1).academic_year
        raise CalendarIncomplete(
            f"{long_date(day)} is after the academic calendar ends on "
            f"{long_date(self._terms[-1].end)}. Enter the {missing} term dates first.",
            field=field, missing_academic_year=missing,
        )


def _key(term: Term) -> TermKey:
    key = TermKey.of(term)
    if key is None:  # pragma: no cover - excluded by validation
        raise ValueError(f"invalid academic year {term.academic_year!r}")
    return key


def _term_errors(terms: list[Term], prefix: str) -> list[FieldError]:
    """Faults of each term on its own: its year label, its dates, duplicates."""
    errors: list[FieldError] = []
    seen: dict[tuple[str, TermName], int] = {}
    for index, term in enumerate(terms):
        at = f"{prefix}.{index}"
        first_year = parse_academic_year(term.academic_year)
        if first_year is None:
            errors.append(FieldError(
                field=f"{at}.academic_year", code="invalid_academic_year",
                message=f"{term.academic_year} is not an academic year; write it like 2025/26"))
            continue
        if term.start > term.end:
            errors.append(FieldError(
                field=f"{at}.end", code="end_before_start",
                message=f"{term.label} ends on {long_date(term.end)}, before it starts on "
                        f"{long_date(term.start)}"))
        year_start, year_end = academic_year_bounds(first_year)
        for name, day in (("start", term.start), ("end", term.end)):
            if not year_start <= day <= year_end:
                errors.append(FieldError(
                    field=f"{at}.{name}", code="outside_academic_year",
                    message=f"{term.label} {name}s on {long_date(day)}, outside the "
                            f"{term.academic_year} academic year ({long_date(year_start)} to "
                            f"{long_date(year_end)})"))
        if (term.academic_year, term.name) in seen:
            errors.append(FieldError(
                field=f"{at}.name", code="duplicate_term",
                message=f"{term.label} is given twice (also at position "
                        f"{seen[(term.academic_year, term.name)]})"))
        seen.setdefault((term.academic_year, term.name), index)
    return errors


def _sequence_errors(terms: list[Term], prefix: str) -> list[FieldError]:
    """Faults between neighbouring terms once sorted by start: overlap, order, gaps."""
    errors: list[FieldError] = []
    ordered = sorted(enumerate(terms), key=lambda pair: pair[1].start)
    for (_, before), (index, after) in pairwise(ordered):
        at = f"{prefix}.{index}"
        if after.start <= before.end:
            errors.append(FieldError(
                field=f"{at}.start", code="overlapping_terms",
                message=f"{after.label} starts on {long_date(after.start)}, before "
                        f"{before.label} ends on {long_date(before.end)}"))
            continue
        expected = _key(before).after(1)
        actual = _key(after)
        if actual < expected:
            errors.append(FieldError(
                field=f"{at}.start", code="terms_out_of_order",
                message=f"{after.label} starts after {before.label}; terms must follow "
                        "autumn, spring, summer"))
        elif actual > expected:
            errors.append(FieldError(
                field=f"{at}.start", code="missing_term",
                message=f"no term is entered between {before.label} and {after.label}; "
                        f"enter {expected.label}"))
    return errors
