"""The Element 3 budget of a financial year: a formula block and a cohort / whole-school block.

A budget is drafted, then approved (by the council each February). While draft its figures may
be revised freely; once approved they change only through :class:`BudgetAdjustment` records,
each with a reason. Panel awards are committed against the cohort / whole-school block and never
take the commitments past it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from math import floor

from lfi_funding.domain.errors import (
    BudgetExceeded,
    IllegalTransition,
    field_error,
    invalid,
)
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.money import pounds_str
from lfi_shared.http.problems import FieldError

__all__ = [
    "BudgetAdjustment",
    "BudgetBlock",
    "BudgetStatus",
    "Element3Budget",
    "formula_block_from_transfer",
]

MAX_REASON_LENGTH = 2000


class BudgetStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"


class BudgetBlock(StrEnum):
    """The two blocks Element 3 is split into (from September 2025)."""

    FORMULA = "formula"
    COHORT = "cohort"
    """The cohort / whole-school block, allocated by the Element 3 Funding Panel."""


@dataclass(frozen=True, slots=True)
class BudgetAdjustment:
    """A change to an approved budget: which block, by how much (signed pence), and why."""

    block: BudgetBlock
    amount_pence: int
    reason: str
    made_on: date


def formula_block_from_transfer(schools_block_pence: int, transfer_rate: Decimal) -> int:
    """The formula block as a fraction of the Schools Block (the Schools Block to High Needs
    Block transfer), rounded to the nearest penny, halves up.

    Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` for a negative Schools Block
    or a rate outside 0..1.
    """
    errors: list[FieldError] = []
    if isinstance(schools_block_pence, bool) or not isinstance(schools_block_pence, int) \
            or schools_block_pence < 0:
        errors.append(field_error("schools_block", "must be a non-negative amount",
                                  "amount_invalid"))
    if not isinstance(transfer_rate, Decimal) or not transfer_rate.is_finite() \
            or not 0 <= transfer_rate <= 1:
        errors.append(field_error("transfer_rate", "must be a fraction between 0 and 1",
                                  "rate_invalid"))
    if errors:
        raise invalid(errors)
    exact = schools_block_pence * Fraction(transfer_rate)
    return floor(exact + Fraction(1, 2))


@dataclass(slots=True)
class Element3Budget:
    """The Element 3 budget of one financial year.

    Build a new one with :meth:`draft`. The total is the sum of the two blocks; commitments
    (panel awards) count against the cohort block only.
    """

    financial_year: FinancialYear
    formula_block_pence: int
    cohort_block_pence: int
    status: BudgetStatus = BudgetStatus.DRAFT
    committed_pence: int = 0
    approved_on: date | None = None
    adjustments: list[BudgetAdjustment] = field(default_factory=list)

    @classmethod
    def draft(cls, financial_year: FinancialYear, total_pence: int,
              formula_block_pence: int) -> Element3Budget:
        """A draft budget of ``total_pence``, of which ``formula_block_pence`` is the formula
        block and the rest the cohort / whole-school block.

        Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` unless
        ``0 <= formula_block_pence <= total_pence``.
        """
        _check_split(total_pence, formula_block_pence)
        return cls(financial_year, formula_block_pence, total_pence - formula_block_pence)

    @property
    def total_pence(self) -> int:
        """Both blocks together."""
        return self.formula_block_pence + self.cohort_block_pence

    @property
    def remaining_pence(self) -> int:
        """What the cohort / whole-school block still has uncommitted."""
        return self.cohort_block_pence - self.committed_pence

    def revise_draft(self, *, total_pence: int | None = None,
                     formula_block_pence: int | None = None) -> None:
        """Change a draft's total and/or formula block (the cohort block is the rest).

        Raises :class:`~lfi_funding.domain.errors.IllegalTransition` once approved (use
        :meth:`adjust`), :class:`~lfi_funding.domain.errors.InvalidFundingInput` for a bad split.
        """
        if self.status is not BudgetStatus.DRAFT:
            raise IllegalTransition(
                f"The {self.financial_year} budget is approved: change it by an adjustment "
                "with a reason", extra={"current_status": self.status.value})
        total = self.total_pence if total_pence is None else total_pence
        formula = self.formula_block_pence if formula_block_pence is None else formula_block_pence
        _check_split(total, formula)
        self.formula_block_pence, self.cohort_block_pence = formula, total - formula

    def approve(self, approved_on: date) -> None:
        """Approve the draft. Raises :class:`~lfi_funding.domain.errors.IllegalTransition` if
        already approved."""
        if self.status is not BudgetStatus.DRAFT:
            raise IllegalTransition(f"The {self.financial_year} budget is already approved",
                                    extra={"current_status": self.status.value})
        self.status = BudgetStatus.APPROVED
        self.approved_on = approved_on

    def adjust(self, block: BudgetBlock, amount_pence: int, reason: str,
               made_on: date) -> BudgetAdjustment:
        """Add (positive) or take away (negative) ``amount_pence`` from a block of an approved
        budget, recording why; returns the adjustment record.

        Raises :class:`~lfi_funding.domain.errors.IllegalTransition` on a draft (revise it
        instead); :class:`~lfi_funding.domain.errors.InvalidFundingInput` for a zero amount, a
        blank reason, or a block taken below zero; :class:`~lfi_funding.domain.errors.
        BudgetExceeded` when the cohort block would fall below what is already committed.
        """
        if self.status is not BudgetStatus.APPROVED:
            raise IllegalTransition(
                f"The {self.financial_year} budget is a draft: revise it directly",
                extra={"current_status": self.status.value})
        errors: list[FieldError] = []
        if isinstance(amount_pence, bool) or not isinstance(amount_pence, int) \
                or amount_pence == 0:
            errors.append(field_error("amount", "must be a non-zero amount", "amount_invalid"))
        cleaned = reason.strip() if isinstance(reason, str) else ""
        if not cleaned or len(cleaned) > MAX_REASON_LENGTH:
            errors.append(field_error(
                "reason", f"an adjustment needs a reason of up to {MAX_REASON_LENGTH} characters",
                "reason_required"))
        if errors:
            raise invalid(errors)
        if block is BudgetBlock.FORMULA:
            if self.formula_block_pence + amount_pence < 0:
                raise invalid([field_error("amount", "would take the formula block below zero",
                                           "block_negative")])
            self.formula_block_pence += amount_pence
        else:
            if amount_pence < 0 and -amount_pence > self.remaining_pence:
                raise self._exceeded(
                    -amount_pence, f"A reduction of £{pounds_str(-amount_pence)} would leave the "
                    f"{self.financial_year} cohort / whole-school block below its commitments")
            self.cohort_block_pence += amount_pence
        record = BudgetAdjustment(block, amount_pence, cleaned, made_on)
        self.adjustments.append(record)
        return record

    def commit(self, award_pence: int) -> int:
        """Commit a panel award against the cohort / whole-school block; returns the new
        committed total.

        Raises :class:`~lfi_funding.domain.errors.BudgetExceeded` (409, with the remaining amount)
        when it would take commitments past the block; :class:`~lfi_funding.domain.errors.
        IllegalTransition` on a draft budget; :class:`~lfi_funding.domain.errors.
        InvalidFundingInput` unless the award is positive.
        """
        self._check_award(award_pence)
        if award_pence > self.remaining_pence:
            raise self._exceeded(
                award_pence, f"An award of £{pounds_str(award_pence)} would take commitments "
                f"past the {self.financial_year} cohort / whole-school block")
        self.committed_pence += award_pence
        return self.committed_pence

    def release(self, award_pence: int) -> int:
        """Give back a committed award (e.g. one reversed); returns the new committed total.

        Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` when more would be
        released than is committed, or the amount is not positive.
        """
        self._check_award(award_pence)
        if award_pence > self.committed_pence:
            raise invalid([field_error(
                "amount", f"only £{pounds_str(self.committed_pence)} is committed",
                "release_above_committed")])
        self.committed_pence -= award_pence
        return self.committed_pence

    def _check_award(self, award_pence: int) -> None:
        if self.status is not BudgetStatus.APPROVED:
            raise IllegalTransition(
                f"The {self.financial_year} budget is not approved yet: nothing can be "
                "committed against it", extra={"current_status": self.status.value})
        if isinstance(award_pence, bool) or not isinstance(award_pence, int) or award_pence <= 0:
            raise invalid([field_error("amount", "must be a positive amount", "amount_invalid")])

    def _exceeded(self, requested: int, what: str) -> BudgetExceeded:
        remaining = self.remaining_pence
        return BudgetExceeded(
            f"{what}: £{pounds_str(remaining)} remains uncommitted",
            remaining_pence=remaining,
            requested_pence=requested,
            extra={"financial_year": self.financial_year.label,
                   "remaining": pounds_str(remaining), "requested": pounds_str(requested)},
        )


def _check_split(total_pence: int, formula_block_pence: int) -> None:
    errors: list[FieldError] = []
    for name, value in (("total", total_pence), ("formula_block", formula_block_pence)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors.append(field_error(name, "must be a non-negative amount", "amount_invalid"))
    if not errors and formula_block_pence > total_pence:
        errors.append(field_error("formula_block", "must not exceed the total budget",
                                  "formula_block_above_total"))
    if errors:
        raise invalid(errors)
