"""Payment schedules: an annual amount paid in termly instalments by a profile (data), e.g.
4/12 in autumn, 3/12 in spring and 5/12 in summer.

The rule for an award made part-way through the academic year (DESIGN.md is silent; decided
here):

* a term *remains* if it has not ended on the decision date (``ends_on >= decided_on``);
* all terms remain (decided before or during autumn): the profile applies as it is;
* some remain: the whole award is shared between them in proportion to their profile shares
  (decided in January: spring and summer share it 3:5);
* none remain (decided after the last term ended), only one remains, or the remaining terms
  have no share in the profile: a single final instalment of the whole award;
* an instalment is due on its term's payment date, or on the decision date if that is later.

Instalments are whole pence, each within 1p of its exact share, and always sum exactly to the
award (largest remainder, ties to the earlier term). A tiny award may leave a term at 0p.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction

from lfi_funding.domain.errors import field_error, invalid
from lfi_funding.domain.money import largest_remainder
from lfi_shared.http.problems import FieldError

__all__ = [
    "AcademicYearTerms",
    "Instalment",
    "PaymentProfile",
    "PaymentSchedule",
    "ScheduleRule",
    "Term",
    "TermDates",
    "remaining_terms",
    "schedule_payments",
    "split_annual_amount",
]


class Term(StrEnum):
    AUTUMN = "autumn"
    SPRING = "spring"
    SUMMER = "summer"


@dataclass(frozen=True, slots=True)
class PaymentProfile:
    """The share of an annual amount paid in each term, in payment order.

    Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` unless every share is a
    non-negative fraction, no term repeats, and the shares sum to exactly 1.
    """

    shares: tuple[tuple[Term, Fraction], ...]

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        seen: set[Term] = set()
        for index, (term, share) in enumerate(self.shares):
            if not isinstance(term, Term) or term in seen:
                errors.append(field_error(f"shares[{index}].term", "must be a term, once",
                                          "term_invalid"))
            else:
                seen.add(term)
            if not isinstance(share, Fraction) or share < 0:
                errors.append(field_error(f"shares[{index}].share",
                                          "must be a non-negative fraction", "share_invalid"))
        if not errors and sum(share for _, share in self.shares) != 1:
            errors.append(field_error("shares", "must add up to exactly 1", "shares_not_whole"))
        if errors:
            raise invalid(errors)

    @property
    def terms(self) -> tuple[Term, ...]:
        """The terms paid in, in order."""
        return tuple(term for term, _ in self.shares)

    def share_of(self, term: Term) -> Fraction:
        """The fraction paid in ``term`` (0 for a term the profile does not name)."""
        return next((share for t, share in self.shares if t is term), Fraction(0))


@dataclass(frozen=True, slots=True)
class TermDates:
    """One term of an academic year and the date its instalment is paid."""

    term: Term
    starts_on: date
    ends_on: date
    payment_on: date


@dataclass(frozen=True, slots=True)
class AcademicYearTerms:
    """The terms of one academic year (label ``"2025/26"``), in order, not overlapping.

    Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` otherwise.
    """

    label: str
    terms: tuple[TermDates, ...]

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if not self.terms:
            errors.append(field_error("terms", "at least one term is needed", "terms_empty"))
        seen: set[Term] = set()
        previous_end: date | None = None
        for index, dates in enumerate(self.terms):
            where = f"terms[{index}]"
            if dates.term in seen:
                errors.append(field_error(f"{where}.term", "repeats a term", "term_duplicate"))
            seen.add(dates.term)
            if dates.ends_on < dates.starts_on:
                errors.append(field_error(f"{where}.ends_on", "must not be before the start",
                                          "term_dates_invalid"))
            if previous_end is not None and dates.starts_on <= previous_end:
                errors.append(field_error(f"{where}.starts_on",
                                          "must be after the previous term ends",
                                          "term_dates_overlap"))
            previous_end = dates.ends_on
        if errors:
            raise invalid(errors)


class ScheduleRule(StrEnum):
    """Which part of the rule made a schedule (see the module docstring)."""

    FULL_YEAR = "full_year"
    REMAINING_TERMS = "remaining_terms"
    SINGLE_FINAL = "single_final"


@dataclass(frozen=True, slots=True)
class Instalment:
    term: Term
    due_on: date
    amount_pence: int


@dataclass(frozen=True, slots=True)
class PaymentSchedule:
    """The instalments of one amount; they sum exactly to ``amount_pence``."""

    amount_pence: int
    rule: ScheduleRule
    instalments: tuple[Instalment, ...]


def split_annual_amount(annual_pence: int, profile: PaymentProfile) -> dict[Term, int]:
    """An annual amount in pence per term by the profile (e.g. 4/12, 3/12, 5/12), each within
    1p of its exact share and summing exactly to ``annual_pence``.

    Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` for a negative amount.
    """
    _check_amount(annual_pence)
    parts = largest_remainder(annual_pence, [share for _, share in profile.shares])
    return dict(zip(profile.terms, parts, strict=True))


def remaining_terms(terms: AcademicYearTerms, decided_on: date | None) -> tuple[TermDates, ...]:
    """The terms not yet ended on ``decided_on`` (all of them when it is ``None``)."""
    if decided_on is None:
        return terms.terms
    return tuple(t for t in terms.terms if t.ends_on >= decided_on)


def schedule_payments(amount_pence: int, profile: PaymentProfile, terms: AcademicYearTerms,
                      decided_on: date | None = None) -> PaymentSchedule:
    """The instalments of an award decided on ``decided_on`` (``None``: an annual allocation
    known before the year starts), by the rule in the module docstring.

    Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` for a negative amount, or
    when the profile's terms are not the academic year's.
    """
    _check_amount(amount_pence)
    if set(profile.terms) != {t.term for t in terms.terms}:
        raise invalid([field_error(
            "profile", f"must share the amount over the terms of {terms.label}",
            "profile_terms_mismatch")])
    left = remaining_terms(terms, decided_on)
    if not left:
        final_day = decided_on if decided_on is not None else terms.terms[-1].payment_on
        return PaymentSchedule(amount_pence, ScheduleRule.SINGLE_FINAL,
                               (Instalment(terms.terms[-1].term, final_day, amount_pence),))
    shares = [profile.share_of(t.term) for t in left]
    if len(left) == 1 or sum(shares) == 0:
        last = left[-1]
        return PaymentSchedule(amount_pence, ScheduleRule.SINGLE_FINAL,
                               (Instalment(last.term, _due(last, decided_on), amount_pence),))
    parts = largest_remainder(amount_pence, shares)
    rule = (ScheduleRule.FULL_YEAR if len(left) == len(terms.terms)
            else ScheduleRule.REMAINING_TERMS)
    return PaymentSchedule(amount_pence, rule, tuple(
        Instalment(t.term, _due(t, decided_on), part)
        for t, part in zip(left, parts, strict=True)
    ))


def _due(term: TermDates, decided_on: date | None) -> date:
    if decided_on is None:
        return term.payment_on
    return max(term.payment_on, decided_on)


def _check_amount(amount_pence: int) -> None:
    if isinstance(amount_pence, bool) or not isinstance(amount_pence, int) or amount_pence < 0:
        raise invalid([field_error("amount", "must be a non-negative amount of pence",
                                   "amount_invalid")])

