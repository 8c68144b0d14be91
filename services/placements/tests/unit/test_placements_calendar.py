"""The academic calendar: term lookup, the latest end of a stay, and calendar validation."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lfi_placements.domain.calendar import AcademicCalendar, Term, TermName
from lfi_placements.domain.errors import CalendarIncomplete, CalendarInvalid
from lfi_placements.domain.reference_data import seed_terms
from lfi_shared.http.problems import InvalidRequest


@pytest.mark.parametrize(("day", "term"), [
    (date(2025, 9, 3), "autumn 2025/26"),   # first day
    (date(2025, 12, 19), "autumn 2025/26"),  # last day
    (date(2026, 2, 16), "spring 2025/26"),
    (date(2026, 7, 17), "summer 2025/26"),
])
def test_term_containing_a_school_day(calendar: AcademicCalendar, day: date,
                                      term: str) -> None:
    found = calendar.term_containing(day)
    assert found is not None
    assert found.label == term


@pytest.mark.parametrize("day", [date(2025, 12, 20), date(2026, 1, 5), date(2026, 4, 1),
                                 date(2026, 7, 18)])
def test_no_term_contains_a_holiday(calendar: AcademicCalendar, day: date) -> None:
    assert calendar.term_containing(day) is None


@pytest.mark.parametrize(("day", "term"), [
    (date(2025, 12, 20), "spring 2025/26"),  # Christmas holiday → spring
    (date(2026, 1, 5), "spring 2025/26"),
    (date(2026, 3, 28), "summer 2025/26"),  # Easter holiday → summer
    (date(2026, 4, 14), "summer 2025/26"),
    (date(2025, 9, 1), "autumn 2025/26"),   # before the first term, same academic year
    (date(2026, 1, 6), "spring 2025/26"),
])
def test_a_start_in_a_holiday_counts_from_the_next_term(calendar: AcademicCalendar, day: date,
                                                        term: str) -> None:
    assert calendar.term_for_start(day).label == term


def test_a_start_after_the_last_term_asks_for_next_years_dates(
        calendar: AcademicCalendar) -> None:
    with pytest.raises(CalendarIncomplete) as caught:
        calendar.term_for_start(date(2026, 7, 20))
    assert caught.value.missing_academic_year == "2026/27"
    assert "Enter the 2026/27 term dates" in caught.value.detail


def test_a_start_in_an_earlier_year_asks_for_that_years_dates(
        calendar: AcademicCalendar) -> None:
    with pytest.raises(CalendarIncomplete) as caught:
        calendar.term_for_start(date(2025, 8, 20))
    assert caught.value.missing_academic_year == "2024/25"


def test_an_empty_calendar_asks_for_the_terms() -> None:
    with pytest.raises(CalendarIncomplete, match="No term dates are entered"):
        AcademicCalendar(()).latest_end(date(2026, 1, 10), 1)


def test_eib_starting_10_january_2026_ends_by_27_march(calendar: AcademicCalendar) -> None:
    assert calendar.latest_end(date(2026, 1, 10), 1) == date(2026, 3, 27)


def test_eib_starting_in_the_easter_holiday_ends_by_the_end_of_summer(
        calendar: AcademicCalendar) -> None:
    assert calendar.latest_end(date(2026, 4, 2), 1) == date(2026, 7, 17)


def test_apc_starting_1_february_2026_needs_the_2026_27_calendar(
        calendar: AcademicCalendar) -> None:
    with pytest.raises(CalendarIncomplete) as caught:
        calendar.latest_end(date(2026, 2, 1), 3)
    error = caught.value
    assert isinstance(error, InvalidRequest)
    assert error.status == 422
    assert error.missing_academic_year == "2026/27"
    assert error.errors is not None
    assert error.errors[0].field == "body.planned_end"
    assert error.errors[0].code == "calendar_incomplete"
    assert "autumn 2026/27" in error.detail
    assert "ends on 17 July 2026" in error.detail
    assert "Enter the 2026/27 term dates first" in error.detail


def test_apc_starting_1_february_2026_ends_by_autumn_2026_once_entered(
        long_calendar: AcademicCalendar) -> None:
    # spring 2026 (1st), summer 2026 (2nd), autumn 2026 (3rd)
    assert long_calendar.latest_end(date(2026, 2, 1), 3) == date(2026, 12, 18)


def test_a_stay_of_no_terms_is_a_configuration_fault(calendar: AcademicCalendar) -> None:
    with pytest.raises(ValueError, match="at least one term"):
        calendar.latest_end(date(2026, 1, 10), 0)


def test_the_seed_is_a_valid_calendar_of_three_terms() -> None:
    terms = AcademicCalendar(seed_terms()).terms
    assert [t.label for t in terms] == ["autumn 2025/26", "spring 2025/26", "summer 2025/26"]


def test_terms_given_in_any_order_are_kept_in_date_order(terms_2026_27: tuple[Term, ...]
                                                         ) -> None:
    mixed = (*reversed(terms_2026_27), *seed_terms())
    assert [t.start for t in AcademicCalendar(mixed).terms] == sorted(t.start for t in mixed)


def _term(name: TermName, start: date, end: date, year: str = "2025/26") -> Term:
    return Term(academic_year=year, name=name, start=start, end=end)


AUTUMN = _term(TermName.AUTUMN, date(2025, 9, 3), date(2025, 12, 19))
SPRING = _term(TermName.SPRING, date(2026, 1, 6), date(2026, 3, 27))
SUMMER = _term(TermName.SUMMER, date(2026, 4, 15), date(2026, 7, 17))


@pytest.mark.parametrize(("terms", "field", "code"), [
    ((AUTUMN, _term(TermName.SPRING, date(2025, 12, 1), date(2026, 3, 27))),
     "body.terms.1.start", "overlapping_terms"),
    ((AUTUMN, _term(TermName.SPRING, date(2026, 3, 27), date(2026, 1, 6))),
     "body.terms.1.end", "end_before_start"),
    ((_term(TermName.SPRING, date(2025, 9, 3), date(2025, 12, 19)),
      _term(TermName.AUTUMN, date(2026, 1, 6), date(2026, 3, 27))),
     "body.terms.1.start", "terms_out_of_order"),
    ((AUTUMN, SUMMER), "body.terms.1.start", "missing_term"),
    ((AUTUMN, AUTUMN), "body.terms.1.name", "duplicate_term"),
    ((_term(TermName.AUTUMN, date(2025, 9, 3), date(2025, 12, 19), year="2025/27"),),
     "body.terms.0.academic_year", "invalid_academic_year"),
    ((_term(TermName.AUTUMN, date(2024, 9, 3), date(2024, 12, 19)),),
     "body.terms.0.start", "outside_academic_year"),
])
def test_an_invalid_calendar_is_refused_naming_the_field(terms: tuple[Term, ...], field: str,
                                                         code: str) -> None:
    with pytest.raises(CalendarInvalid) as caught:
        AcademicCalendar(terms)
    assert caught.value.status == 422
    assert caught.value.errors is not None
    assert (field, code) in {(e.field, e.code) for e in caught.value.errors}


def test_a_valid_calendar_across_years_is_accepted(terms_2026_27: tuple[Term, ...]) -> None:
    assert len(AcademicCalendar((AUTUMN, SPRING, SUMMER, *terms_2026_27)).terms) == 6


COVERED = st.dates(min_value=date(2025, 9, 1), max_value=date(2027, 7, 21))


@given(start=COVERED, terms=st.integers(min_value=1, max_value=6))
def test_latest_end_is_a_term_end_reached_within_the_stay(start: date, terms: int) -> None:
    calendar = AcademicCalendar((*seed_terms(), *_later_terms()))
    first = calendar.term_for_start(start)
    index = calendar.terms.index(first)
    assume(index + terms <= len(calendar.terms))
    end = calendar.latest_end(start, terms)
    assert end >= start
    assert end == calendar.terms[index + terms - 1].end
    if terms > 1:
        assert end > calendar.latest_end(start, terms - 1)
    # A start on the last day of the same term reaches the same end.
    assert calendar.latest_end(first.end, terms) == end


def _later_terms() -> tuple[Term, ...]:
    return (
        _term(TermName.AUTUMN, date(2026, 9, 2), date(2026, 12, 18), "2026/27"),
        _term(TermName.SPRING, date(2027, 1, 5), date(2027, 3, 26), "2026/27"),
        _term(TermName.SUMMER, date(2027, 4, 12), date(2027, 7, 21), "2026/27"),
    )
