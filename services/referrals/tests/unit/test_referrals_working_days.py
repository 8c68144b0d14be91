"""Working days and the triage due date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from referrals_factories import POLICY, draft, referral_in

from lfi_referrals.domain import referral as r
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.domain.working_days import (
    add_working_days,
    is_overdue,
    is_working_day,
    triage_due_date,
)

AUGUST_BANK_HOLIDAY = date(2025, 8, 25)  # a Monday
NO_CLOSURES: frozenset[date] = frozenset()


def test_one_working_day_after_a_friday_is_the_monday() -> None:
    assert add_working_days(date(2025, 10, 10), 1, NO_CLOSURES) == date(2025, 10, 13)


def test_a_bank_holiday_monday_is_skipped_with_the_weekend() -> None:
    friday = date(2025, 8, 22)
    assert add_working_days(friday, 1, {AUGUST_BANK_HOLIDAY}) == date(2025, 8, 26)
    assert add_working_days(friday, 1, NO_CLOSURES) == AUGUST_BANK_HOLIDAY


def test_five_working_days_over_christmas() -> None:
    # Fri 19 Dec → Mon 22, Tue 23, Wed 24, (25, 26 closed; weekend), Mon 29, Tue 30.
    assert triage_due_date(date(2025, 12, 19), 5, POLICY.closure_dates) == date(2025, 12, 30)


def test_a_weekend_submission_counts_from_the_next_working_day() -> None:
    saturday, monday = date(2025, 10, 11), date(2025, 10, 13)
    assert triage_due_date(saturday, 0, NO_CLOSURES) == monday
    assert triage_due_date(saturday, 1, NO_CLOSURES) == date(2025, 10, 14)


def test_zero_working_days_on_a_working_day_is_that_day() -> None:
    assert add_working_days(date(2025, 10, 8), 0, NO_CLOSURES) == date(2025, 10, 8)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(date(2025, 10, 8), -1, NO_CLOSURES)


def test_due_date_is_not_overdue_but_the_day_after_is() -> None:
    due = date(2025, 10, 13)
    assert not is_overdue(due, date(2025, 10, 12))
    assert not is_overdue(due, due)
    assert is_overdue(due, date(2025, 10, 14))


def test_submission_sets_the_triage_due_date_from_the_local_date() -> None:
    # 23:30 UTC on Friday 3 October 2025 is 00:30 on Saturday in London (BST): received Monday.
    ref = r.submit(draft(), at=datetime(2025, 10, 3, 23, 30, tzinfo=UTC), policy=POLICY).referral
    assert ref.triage_due_on == add_working_days(date(2025, 10, 6), POLICY.triage_working_days,
                                                 NO_CLOSURES)
    assert ref.triage_due_on == date(2025, 10, 13)


def test_only_a_referral_awaiting_triage_can_be_overdue_for_it() -> None:
    submitted = referral_in(ReferralStatus.SUBMITTED)
    assert submitted.triage_due_on is not None
    late = submitted.triage_due_on + timedelta(days=1)
    assert r.is_triage_overdue(submitted, late)
    assert not r.is_triage_overdue(submitted, submitted.triage_due_on)
    assert not r.is_triage_overdue(referral_in(ReferralStatus.TRIAGED), late)


@given(start=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
       days=st.integers(min_value=0, max_value=40),
       closures=st.frozensets(st.dates(min_value=date(2024, 1, 1),
                                       max_value=date(2031, 6, 30)), max_size=30))
def test_adding_n_working_days_passes_exactly_n_working_days(
        start: date, days: int, closures: frozenset[date]) -> None:
    end = add_working_days(start, days, closures)
    passed = [start + timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert sum(is_working_day(day, closures) for day in passed) == days
    assert days == 0 or is_working_day(end, closures)
