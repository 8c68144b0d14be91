"""Payment schedules: 4/12, 3/12, 5/12 of an annual amount, and awards made part-way through."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lfi_funding.domain.errors import InvalidFundingInput
from lfi_funding.domain.money import parse_pounds
from lfi_funding.domain.payments import (
    AcademicYearTerms,
    PaymentProfile,
    ScheduleRule,
    Term,
    TermDates,
    schedule_payments,
    split_annual_amount,
)
from lfi_funding.domain.seed_data import ACADEMIC_YEAR_2025_26, PAYMENT_PROFILE

TERMS = ACADEMIC_YEAR_2025_26
EXACT = {Term.AUTUMN: Fraction(4, 12), Term.SPRING: Fraction(3, 12), Term.SUMMER: Fraction(5, 12)}


@given(st.integers(min_value=0, max_value=10**12))
def test_annual_amount_is_paid_four_three_five_twelfths_summing_exactly(annual: int) -> None:
    split = split_annual_amount(annual, PAYMENT_PROFILE)
    assert list(split) == [Term.AUTUMN, Term.SPRING, Term.SUMMER]
    assert sum(split.values()) == annual
    for term, pence in split.items():
        assert abs(pence - annual * EXACT[term]) < 1


@given(st.integers(min_value=0, max_value=10**12))
def test_full_year_schedule_matches_the_split_and_term_payment_dates(annual: int) -> None:
    schedule = schedule_payments(annual, PAYMENT_PROFILE, TERMS)
    assert schedule.rule is ScheduleRule.FULL_YEAR
    assert [(i.term, i.amount_pence) for i in schedule.instalments] == list(
        split_annual_amount(annual, PAYMENT_PROFILE).items())
    assert [i.due_on for i in schedule.instalments] == [t.payment_on for t in TERMS.terms]


@given(st.integers(min_value=0, max_value=10**12),
       st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 1, 1)))
def test_any_award_schedule_sums_exactly_and_is_never_due_before_the_decision(
        amount: int, decided_on: date) -> None:
    schedule = schedule_payments(amount, PAYMENT_PROFILE, TERMS, decided_on)
    assert sum(i.amount_pence for i in schedule.instalments) == amount
    assert all(i.due_on >= decided_on for i in schedule.instalments)
    assert all(i.amount_pence >= 0 for i in schedule.instalments)


def test_award_decided_before_autumn_follows_the_whole_profile() -> None:
    schedule = schedule_payments(parse_pounds("12000.00"), PAYMENT_PROFILE, TERMS,
                                 date(2025, 7, 10))
    assert schedule.rule is ScheduleRule.FULL_YEAR
    assert [(i.term, i.due_on, i.amount_pence) for i in schedule.instalments] == [
        (Term.AUTUMN, date(2025, 9, 3), parse_pounds("4000.00")),
        (Term.SPRING, date(2026, 1, 6), parse_pounds("3000.00")),
        (Term.SUMMER, date(2026, 4, 15), parse_pounds("5000.00")),
    ]


def test_award_decided_during_autumn_pays_autumn_at_once() -> None:
    schedule = schedule_payments(parse_pounds("12000.00"), PAYMENT_PROFILE, TERMS,
                                 date(2025, 10, 15))
    assert schedule.rule is ScheduleRule.FULL_YEAR
    assert schedule.instalments[0].due_on == date(2025, 10, 15)
    assert schedule.instalments[0].amount_pence == parse_pounds("4000.00")


def test_award_decided_in_january_is_shared_by_spring_and_summer_three_to_five() -> None:
    schedule = schedule_payments(parse_pounds("8000.00"), PAYMENT_PROFILE, TERMS,
                                 date(2026, 1, 20))
    assert schedule.rule is ScheduleRule.REMAINING_TERMS
    assert [(i.term, i.due_on, i.amount_pence) for i in schedule.instalments] == [
        (Term.SPRING, date(2026, 1, 20), parse_pounds("3000.00")),
        (Term.SUMMER, date(2026, 4, 15), parse_pounds("5000.00")),
    ]


def test_award_decided_in_the_christmas_holiday_is_shared_by_spring_and_summer() -> None:
    schedule = schedule_payments(1_000, PAYMENT_PROFILE, TERMS, date(2025, 12, 22))
    # 1000p in the ratio 3:5 is 375p and 625p exactly.
    assert [(i.term, i.amount_pence) for i in schedule.instalments] == [
        (Term.SPRING, 375), (Term.SUMMER, 625)]


def test_award_decided_in_the_easter_holiday_is_a_single_summer_instalment() -> None:
    schedule = schedule_payments(parse_pounds("5000.01"), PAYMENT_PROFILE, TERMS,
                                 date(2026, 4, 1))
    assert schedule.rule is ScheduleRule.SINGLE_FINAL
    assert [(i.term, i.due_on, i.amount_pence) for i in schedule.instalments] == [
        (Term.SUMMER, date(2026, 4, 15), parse_pounds("5000.01"))]


def test_award_decided_after_the_summer_payment_date_is_one_final_instalment() -> None:
    schedule = schedule_payments(parse_pounds("999.99"), PAYMENT_PROFILE, TERMS,
                                 date(2026, 5, 1))
    assert schedule.rule is ScheduleRule.SINGLE_FINAL
    assert [(i.term, i.due_on, i.amount_pence) for i in schedule.instalments] == [
        (Term.SUMMER, date(2026, 5, 1), parse_pounds("999.99"))]


def test_award_decided_after_the_last_term_ends_is_one_final_instalment() -> None:
    schedule = schedule_payments(parse_pounds("999.99"), PAYMENT_PROFILE, TERMS,
                                 date(2026, 8, 3))
    assert schedule.rule is ScheduleRule.SINGLE_FINAL
    assert [(i.term, i.due_on, i.amount_pence) for i in schedule.instalments] == [
        (Term.SUMMER, date(2026, 8, 3), parse_pounds("999.99"))]


def test_decided_on_the_last_day_of_spring_still_includes_spring() -> None:
    schedule = schedule_payments(800, PAYMENT_PROFILE, TERMS, date(2026, 3, 27))
    assert [i.term for i in schedule.instalments] == [Term.SPRING, Term.SUMMER]
    later = schedule_payments(800, PAYMENT_PROFILE, TERMS, date(2026, 3, 27) + timedelta(days=1))
    assert [i.term for i in later.instalments] == [Term.SUMMER]


def test_profile_is_data_another_profile_gives_other_instalments() -> None:
    even = PaymentProfile(tuple((term, Fraction(1, 3)) for term in Term))
    assert split_annual_amount(100, even) == {Term.AUTUMN: 34, Term.SPRING: 33, Term.SUMMER: 33}


def test_remaining_terms_with_no_profile_share_get_one_final_instalment() -> None:
    front_loaded = PaymentProfile(((Term.AUTUMN, Fraction(1)), (Term.SPRING, Fraction(0)),
                                   (Term.SUMMER, Fraction(0))))
    schedule = schedule_payments(600, front_loaded, TERMS, date(2026, 2, 1))
    assert schedule.rule is ScheduleRule.SINGLE_FINAL
    assert [(i.term, i.amount_pence) for i in schedule.instalments] == [(Term.SUMMER, 600)]


@pytest.mark.parametrize("shares", [
    ((Term.AUTUMN, Fraction(4, 12)), (Term.SPRING, Fraction(3, 12))),
    ((Term.AUTUMN, Fraction(-1, 12)), (Term.SPRING, Fraction(8, 12)),
     (Term.SUMMER, Fraction(5, 12))),
    ((Term.AUTUMN, Fraction(1, 2)), (Term.AUTUMN, Fraction(1, 2))),
])
def test_profile_must_be_whole_and_non_negative(shares: tuple[tuple[Term, Fraction], ...]) -> None:
    with pytest.raises(InvalidFundingInput):
        PaymentProfile(shares)


def test_profile_terms_must_match_the_academic_year() -> None:
    two_terms = AcademicYearTerms("2025/26", TERMS.terms[:2])
    with pytest.raises(InvalidFundingInput):
        schedule_payments(100, PAYMENT_PROFILE, two_terms)


def test_terms_must_be_in_order_and_not_overlap() -> None:
    autumn, spring, _ = TERMS.terms
    with pytest.raises(InvalidFundingInput):
        AcademicYearTerms("2025/26", (spring, autumn))
    with pytest.raises(InvalidFundingInput):
        AcademicYearTerms("2025/26", (TermDates(Term.AUTUMN, date(2025, 9, 3), date(2025, 9, 1),
                                                date(2025, 9, 3)),))


@pytest.mark.parametrize("amount", [-1, True])
def test_amount_must_be_non_negative_pence(amount: int) -> None:
    with pytest.raises(InvalidFundingInput):
        split_annual_amount(amount, PAYMENT_PROFILE)
    with pytest.raises(InvalidFundingInput):
        schedule_payments(amount, PAYMENT_PROFILE, TERMS)
