"""Working days: the triage due date and whether it has passed.

A working day is Monday to Friday and not a closure date (bank holidays and any other closure
days, passed in as data). Decision where the design is silent: a referral submitted on a weekend
or closure date counts as received on the next working day, so the Team Around the School always
gets its full N working days; the due date itself is not overdue.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


def is_working_day(day: date, closures: Collection[date]) -> bool:
    """Whether ``day`` is a weekday that is not in ``closures``."""
    return day.weekday() < _SATURDAY and day not in closures


def next_working_day_on_or_after(day: date, closures: Collection[date]) -> date:
    """``day`` if it is a working day, else the first working day after it."""
    while not is_working_day(day, closures):
        day += _ONE_DAY
    return day


def add_working_days(start: date, days: int, closures: Collection[date]) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself not counted).

    Raises:
        ValueError: if ``days`` is negative.
    """
    if days < 0:
        raise ValueError("working days to add cannot be negative")
    day = start
    for _ in range(days):
        day = next_working_day_on_or_after(day + _ONE_DAY, closures)
    return day


def triage_due_date(submitted_on: date, working_days: int, closures: Collection[date]) -> date:
    """When triage of a referral submitted on ``submitted_on`` is due: ``working_days`` working
    days after the day it counts as received (the next working day if submitted on a weekend or
    closure date).

    Raises:
        ValueError: if ``working_days`` is negative.
    """
    received_on = next_working_day_on_or_after(submitted_on, closures)
    return add_working_days(received_on, working_days, closures)


def is_overdue(due: date, today: date) -> bool:
    """Whether something due on ``due`` is overdue on ``today`` (it is not on the due date)."""
    return today > due
