"""Reference and seed data of the funding domain: figures from DESIGN.md §1, kept as data.

Figures marked ``illustrative=True`` (or described so in a comment) are NOT published council
figures: they are plausible placeholders so that a local stack has something to show, and are
to be replaced by officers' real figures. The seed loader (``lfi_funding.seed``) reads this
module; nothing in the domain logic depends on these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from lfi_funding.domain.budget import formula_block_from_transfer
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.formula import Element3Formula, FactorBasis, FormulaFactor
from lfi_funding.domain.money import parse_pounds
from lfi_funding.domain.payments import AcademicYearTerms, PaymentProfile, Term, TermDates

__all__ = [
    "ACADEMIC_YEAR_2025_26",
    "ELEMENT3_BUDGETS",
    "FORMULA_2025_26",
    "PAYMENT_PROFILE",
    "SCHOOLS_BLOCK_TRANSFER_RATE",
    "SeedBudget",
]


@dataclass(frozen=True, slots=True)
class SeedBudget:
    """An Element 3 budget to seed, saying which of its figures are illustrative."""

    financial_year: FinancialYear
    total_pence: int
    formula_block_pence: int
    total_illustrative: bool
    formula_block_illustrative: bool
    note: str


SCHOOLS_BLOCK_TRANSFER_RATE = Decimal("0.015")
"""The Schools Block to High Needs Block transfer (1.5%) that sizes the formula block."""

ILLUSTRATIVE_SCHOOLS_BLOCK_2025_26 = parse_pounds("620000000.00")
"""ILLUSTRATIVE: Norfolk's 2025-26 Schools Block is not given in the design; a placeholder of the
right order (the formula block is then 1.5% of it, £9.3m)."""

_NO_FORMULA_BLOCK = 0  # before September 2025 there was no formula block

ELEMENT3_BUDGETS: tuple[SeedBudget, ...] = (
    SeedBudget(FinancialYear(2020), parse_pounds("9000000.00"), _NO_FORMULA_BLOCK,
               total_illustrative=False, formula_block_illustrative=False,
               note="Published: £9m in 2020/21, before the two-block model."),
    # 2021-22 to 2023-24: ILLUSTRATIVE totals between the published £9m and £35m; not council
    # figures.
    SeedBudget(FinancialYear(2021), parse_pounds("14000000.00"), _NO_FORMULA_BLOCK,
               total_illustrative=True, formula_block_illustrative=False,
               note="ILLUSTRATIVE total, not a published figure."),
    SeedBudget(FinancialYear(2022), parse_pounds("20000000.00"), _NO_FORMULA_BLOCK,
               total_illustrative=True, formula_block_illustrative=False,
               note="ILLUSTRATIVE total, not a published figure."),
    SeedBudget(FinancialYear(2023), parse_pounds("27000000.00"), _NO_FORMULA_BLOCK,
               total_illustrative=True, formula_block_illustrative=False,
               note="ILLUSTRATIVE total, not a published figure."),
    SeedBudget(FinancialYear(2024), parse_pounds("35000000.00"), _NO_FORMULA_BLOCK,
               total_illustrative=False, formula_block_illustrative=False,
               note="Published: about £35m in 2024/25, before the two-block model."),
    SeedBudget(FinancialYear(2025), parse_pounds("35000000.00"),
               formula_block_from_transfer(ILLUSTRATIVE_SCHOOLS_BLOCK_2025_26,
                                           SCHOOLS_BLOCK_TRANSFER_RATE),
               total_illustrative=False, formula_block_illustrative=True,
               note="Published: about £35m in 2025/26, in two blocks from September 2025. The "
                    "formula block is ILLUSTRATIVE: 1.5% of a placeholder Schools Block."),
)

PAYMENT_PROFILE = PaymentProfile((
    (Term.AUTUMN, Fraction(4, 12)),
    (Term.SPRING, Fraction(3, 12)),
    (Term.SUMMER, Fraction(5, 12)),
))
"""Annual allocations are paid 4/12 in autumn, 3/12 in spring, 5/12 in summer."""

# Norfolk's published 2025/26 term dates. Payment dates are not published: the first day of each
# term is an illustrative assumption.
ACADEMIC_YEAR_2025_26 = AcademicYearTerms("2025/26", (
    TermDates(Term.AUTUMN, date(2025, 9, 3), date(2025, 12, 19), payment_on=date(2025, 9, 3)),
    TermDates(Term.SPRING, date(2026, 1, 6), date(2026, 3, 27), payment_on=date(2026, 1, 6)),
    TermDates(Term.SUMMER, date(2026, 4, 15), date(2026, 7, 17), payment_on=date(2026, 4, 15)),
))

# ILLUSTRATIVE weights (relative points, readable as notional pounds per unit): the council
# sets the real ones; these only make a local allocation look plausible.
FORMULA_2025_26 = Element3Formula(FinancialYear(2025), 1, (
    FormulaFactor("pupils_on_roll", FactorBasis.PER_PUPIL_ON_ROLL, Decimal("10.00"),
                  "Per pupil on roll"),
    FormulaFactor("fsm_ever6", FactorBasis.PER_PUPIL_IN_MEASURE, Decimal("60.00"),
                  "Per pupil eligible for free school meals in the last six years"),
    FormulaFactor("low_prior_attainment", FactorBasis.PER_PUPIL_IN_MEASURE, Decimal("80.00"),
                  "Per pupil with low prior attainment"),
    FormulaFactor("sen_support_pupils", FactorBasis.PER_PUPIL_IN_MEASURE, Decimal("120.00"),
                  "Per pupil on SEN support"),
    FormulaFactor("ehcp_pupils", FactorBasis.PER_PUPIL_IN_MEASURE, Decimal("400.00"),
                  "Per pupil with an EHC plan"),
    FormulaFactor("lump_sum", FactorBasis.PER_SCHOOL, Decimal("5000.00"), "Per school"),
))
