"""The Element 3 formula: a versioned list of weighted factors for one financial year.

A formula is a list of factors, each with a weight (data, never code): so many points per pupil
on roll, per pupil counted in a measure of need (``fsm_ever6``, ``ehcp_pupils``, ...), or per
school (a lump sum). A school's points are the sum of weight x value over the factors; the block
is shared between schools in proportion to their points (weights are relative: read them as
notional pounds, scaled so the allocations add up to the block exactly).

:func:`lfi_funding.domain.allocation.allocate` shares a block by a formula; a what-if is the
same call with :meth:`Element3Formula.revise`'d weights or another block size.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from lfi_funding.domain.errors import field_error, invalid
from lfi_funding.domain.financial_year import FinancialYear
from lfi_shared.http.problems import FieldError

__all__ = [
    "Element3Formula",
    "FactorBasis",
    "FormulaFactor",
    "decimal_places",
]

MAX_WEIGHT_DECIMAL_PLACES = 6
_FACTOR_CODE = re.compile(r"[a-z][a-z0-9_]{0,62}")


class FactorBasis(StrEnum):
    """What a factor's weight is paid per."""

    PER_PUPIL_ON_ROLL = "per_pupil_on_roll"
    """Per pupil on the school's roll."""
    PER_PUPIL_IN_MEASURE = "per_pupil_in_measure"
    """Per pupil counted in the measure named by the factor's code (at most the roll)."""
    PER_SCHOOL = "per_school"
    """Once per school: a lump sum."""


@dataclass(frozen=True, slots=True)
class FormulaFactor:
    """One factor of the formula: its code, what it is paid per, and its weight."""

    code: str
    basis: FactorBasis
    weight: Decimal
    label: str = ""


@dataclass(frozen=True, slots=True)
class Element3Formula:
    """A version of the formula for one financial year.

    Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` on construction when a code is
    malformed or repeated, a weight is negative, not finite or has more than
    ``MAX_WEIGHT_DECIMAL_PLACES`` decimals, or no factor has a positive weight.
    """

    financial_year: FinancialYear
    version: int
    factors: tuple[FormulaFactor, ...]

    def __post_init__(self) -> None:
        errors = _formula_errors(self)
        if errors:
            raise invalid(errors)

    @property
    def measure_codes(self) -> tuple[str, ...]:
        """The measures of need each school's input must give, in factor order."""
        return tuple(f.code for f in self.factors if f.basis is FactorBasis.PER_PUPIL_IN_MEASURE)

    def revise(self, weights: Mapping[str, Decimal]) -> Element3Formula:
        """The next version, with the weights of the named factors replaced.

        For a what-if, allocate with the result and do not store it. Raises
        :class:`~lfi_funding.domain.errors.InvalidFundingInput` for an unknown factor code or a
        weight the formula would refuse.
        """
        known = {f.code for f in self.factors}
        unknown = [field_error(f"weights.{code}", "is not a factor of this formula",
                               "unknown_factor") for code in weights if code not in known]
        if unknown:
            raise invalid(unknown)
        factors = tuple(
            FormulaFactor(f.code, f.basis, weights.get(f.code, f.weight), f.label)
            for f in self.factors
        )
        return Element3Formula(self.financial_year, self.version + 1, factors)


def _formula_errors(formula: Element3Formula) -> list[FieldError]:
    errors: list[FieldError] = []
    if isinstance(formula.version, bool) or not isinstance(formula.version, int) \
            or formula.version < 1:
        errors.append(field_error("version", "must be a whole number from 1", "version_invalid"))
    if not formula.factors:
        errors.append(field_error("factors", "at least one factor is needed", "factors_empty"))
    seen: set[str] = set()
    for index, factor in enumerate(formula.factors):
        where = f"factors[{index}]"
        if not isinstance(factor.code, str) or not _FACTOR_CODE.fullmatch(factor.code):
            errors.append(field_error(f"{where}.code", "must be a snake_case code",
                                      "factor_code_format"))
        elif factor.code in seen:
            errors.append(field_error(f"{where}.code", f"repeats factor {factor.code!r}",
                                      "factor_code_duplicate"))
        seen.add(factor.code)
        if not isinstance(factor.basis, FactorBasis):
            errors.append(field_error(f"{where}.basis", "is not a factor basis", "basis_invalid"))
        weight = factor.weight
        if not isinstance(weight, Decimal) or not weight.is_finite():
            errors.append(field_error(f"{where}.weight", "must be a finite decimal number",
                                      "weight_invalid"))
        elif weight < 0:
            errors.append(field_error(f"{where}.weight", "must not be negative",
                                      "weight_negative"))
        elif decimal_places(weight) > MAX_WEIGHT_DECIMAL_PLACES:
            errors.append(field_error(
                f"{where}.weight", f"must have at most {MAX_WEIGHT_DECIMAL_PLACES} decimals",
                "weight_precision"))
    weights_ok = not any(e.field.endswith(".weight") for e in errors)
    if formula.factors and weights_ok and all(f.weight == 0 for f in formula.factors):
        errors.append(field_error("factors", "at least one factor needs a positive weight",
                                  "weights_all_zero"))
    return errors


def decimal_places(value: Decimal) -> int:
    """How many decimals a finite ``Decimal`` is written with (``Decimal("1.50")`` → 2)."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked by the caller
    return max(0, -exponent)
