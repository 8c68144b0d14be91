"""Allocation of the formula block: each school's share in pence, explained factor by factor.

:func:`allocate` is pure: a what-if is the same call with other weights
(:meth:`~lfi_funding.domain.formula.Element3Formula.revise`) or another block size, and nothing
is published.

Arithmetic is integer throughout (weights scaled by one power of ten) and works a column (one
factor across all schools) at a time, so 25,000 schools allocate in a fraction of a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import repeat
from operator import itemgetter, mul, sub

from lfi_funding.domain.errors import field_error, invalid
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.formula import Element3Formula, FactorBasis, decimal_places
from lfi_funding.domain.identifiers import urn_error
from lfi_funding.domain.money import apportion_by_integer_weights, pounds_str
from lfi_shared.http.problems import FieldError

__all__ = [
    "FactorContribution",
    "FormulaResult",
    "SchoolAllocation",
    "SchoolFormulaInput",
    "allocate",
]

_URN = re.compile(r"[0-9]{6}")
_INT_ONLY = {int}
# Positions in a school's row of values: (pupils on roll, 1 for a lump sum, *measures).
_ROLL, _ONCE, _FIRST_MEASURE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class SchoolFormulaInput:
    """One school's inputs for a year: URN, pupils on roll, and a count per measure of need.

    Measures the formula does not use are ignored (a what-if may drop a factor).
    """

    urn: str
    pupils_on_roll: int
    measures: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FactorContribution:
    """What one factor gave a school: the input value it counted, and its share in pence."""

    factor_code: str
    value: int
    amount_pence: int


@dataclass(frozen=True, slots=True)
class SchoolAllocation:
    """A school's allocation and its explanation, factor by factor.

    ``factor_codes``, ``factor_values`` and ``factor_pence`` run in the formula's factor order;
    ``factor_pence`` sums exactly to ``amount_pence``.
    """

    urn: str
    amount_pence: int
    points: Decimal
    factor_codes: tuple[str, ...]
    factor_values: tuple[int, ...]
    factor_pence: tuple[int, ...]

    @property
    def contributions(self) -> tuple[FactorContribution, ...]:
        """The explanation: each factor's input value and its share of the allocation."""
        return tuple(
            FactorContribution(code, value, pence)
            for code, value, pence in zip(
                self.factor_codes, self.factor_values, self.factor_pence, strict=True)
        )


@dataclass(frozen=True, slots=True)
class FormulaResult:
    """The allocation of a block; the schools' amounts sum exactly to ``block_pence``.

    ``allocations`` keeps the order of the inputs.
    """

    financial_year: FinancialYear
    formula_version: int
    block_pence: int
    total_points: Decimal
    allocations: tuple[SchoolAllocation, ...]

    def by_urn(self) -> dict[str, SchoolAllocation]:
        """The allocations keyed by school URN."""
        return {a.urn: a for a in self.allocations}


def allocate(block_pence: int, formula: Element3Formula,
             inputs: Sequence[SchoolFormulaInput]) -> FormulaResult:
    """Share ``block_pence`` between the schools in proportion to their formula points.

    Each school receives its exact share rounded down or up to the penny (largest remainder;
    equal remainders go to the lower URN first, so input order does not matter), and the
    allocations sum exactly to the block. Each school's allocation is apportioned over the
    factors the same way (equal remainders to the earlier factor), so its explanation sums
    exactly to its allocation. A school with no points is allocated nothing.

    Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` when the block is negative,
    there are no schools, an input is invalid (URN format or repeated, a count not a
    non-negative whole number, a measure missing or above the roll), or no school scores any
    points while the block is positive.
    """
    _check_block(block_pence)
    rows = _school_rows(formula, inputs)
    places = max(decimal_places(f.weight) for f in formula.factors)
    scale = 10 ** places
    measure_position = {code: _FIRST_MEASURE + i for i, code in enumerate(formula.measure_codes)}

    # One column per factor: the value each school counts, then weight x value in points.
    value_columns: list[list[int]] = []
    point_columns: list[list[int]] = []
    for factor in formula.factors:
        if factor.basis is FactorBasis.PER_PUPIL_ON_ROLL:
            position = _ROLL
        elif factor.basis is FactorBasis.PER_SCHOOL:
            position = _ONCE
        else:
            position = measure_position[factor.code]
        values = list(map(itemgetter(position), rows))
        value_columns.append(values)
        point_columns.append(list(map(mul, repeat(_scaled(factor.weight, scale)), values)))
    points = list(map(sum, zip(*point_columns, strict=True)))

    total_points = sum(points)
    if total_points == 0 and block_pence != 0:
        raise invalid([field_error(
            "schools", f"no school scores any formula points, so £{pounds_str(block_pence)} "
                       "cannot be allocated", "no_formula_points")])
    urns = [school.urn for school in inputs]
    amounts = apportion_by_integer_weights(block_pence, points, urns)
    factor_pence = _split_over_factors(amounts, points, point_columns)

    codes = tuple(f.code for f in formula.factors)
    allocations = tuple(map(
        SchoolAllocation, urns, amounts, map(_unscaled, points, repeat(places)), repeat(codes),
        zip(*value_columns, strict=True), factor_pence,
    ))
    return FormulaResult(formula.financial_year, formula.version, block_pence,
                         _unscaled(total_points, places), allocations)


def _split_over_factors(amounts: list[int], points: list[int],
                        point_columns: list[list[int]]) -> list[tuple[int, ...]]:
    """Each school's amount apportioned over its factors' points by largest remainder.

    The same rule as :func:`~lfi_funding.domain.money.apportion_by_integer_weights` (ties to the
    earlier factor), worked a column at a time because it runs once per school.
    """
    divisors = [p or 1 for p in points]  # a school with no points has amount 0: 0 // 1 == 0
    quotient_columns: list[list[int]] = []
    remainder_columns: list[list[int]] = []
    for column in point_columns:
        pairs = list(map(divmod, map(mul, amounts, column), divisors))
        quotient_columns.append([q for q, _ in pairs])
        remainder_columns.append([r for _, r in pairs])
    rows = list(zip(*quotient_columns, strict=True))
    shorts = list(map(sub, amounts, map(sum, rows)))
    factor_order = range(len(point_columns))
    for index, remainders in enumerate(zip(*remainder_columns, strict=True)):
        short = shorts[index]
        if short:
            row = list(rows[index])
            for k in sorted(factor_order, key=remainders.__getitem__, reverse=True)[:short]:
                row[k] += 1
            rows[index] = tuple(row)
    return rows


def _scaled(weight: Decimal, scale: int) -> int:
    numerator, denominator = weight.as_integer_ratio()
    return numerator * scale // denominator  # exact: denominator divides 10**places


def _unscaled(value: int, places: int) -> Decimal:
    # Built from a string, so exact whatever the decimal context's precision.
    return Decimal(f"{value}E-{places}")


def _check_block(block_pence: int) -> None:
    if isinstance(block_pence, bool) or not isinstance(block_pence, int) or block_pence < 0:
        raise invalid([field_error("block", "must be a non-negative amount of pence",
                                   "block_invalid")])


def _measure_reader(codes: tuple[str, ...]) -> Callable[[Mapping[str, int]], tuple[int, ...]]:
    if not codes:
        return lambda _: ()
    if len(codes) == 1:
        code = codes[0]
        return lambda measures: (measures[code],)
    getter = itemgetter(*codes)
    return lambda measures: tuple(getter(measures))


def _school_rows(formula: Element3Formula,
                 inputs: Sequence[SchoolFormulaInput]) -> list[tuple[int, ...]]:
    """Each school's values ``(roll, 1, *measures)``, checked; raises on any fault.

    The fast path checks in bulk; only when it finds a fault does the slow path name every one.
    """
    if not inputs:
        raise invalid([field_error("schools", "at least one school is needed", "schools_empty")])
    read = _measure_reader(formula.measure_codes)
    rows: list[tuple[int, ...]] = []
    try:
        for school in inputs:
            roll = school.pupils_on_roll
            row = (roll, 1, *read(school.measures))
            if set(map(type, row)) != _INT_ONLY or min(row) < 0 or max(row[_FIRST_MEASURE:],
                                                                       default=0) > roll:
                break
            rows.append(row)
    except (KeyError, TypeError):
        pass
    urns = [school.urn for school in inputs]
    if (len(rows) == len(inputs) and set(map(type, urns)) == {str}
            and all(map(_URN.fullmatch, urns)) and len(set(urns)) == len(urns)):
        return rows
    raise invalid(_input_errors(formula, inputs))


def _count_error(value: object, where: str, roll: object) -> FieldError | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return FieldError(field=where, message="must be a whole number", code="count_type")
    if value < 0:
        return FieldError(field=where, message="must not be negative", code="count_negative")
    if isinstance(roll, int) and not isinstance(roll, bool) and roll >= 0 and value > roll:
        return FieldError(field=where, message="must not exceed pupils on roll",
                          code="count_above_roll")
    return None


def _input_errors(formula: Element3Formula,
                  inputs: Sequence[SchoolFormulaInput]) -> list[FieldError]:
    """Every fault in the inputs, each naming its field (``schools[3].measures.fsm_ever6``)."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, school in enumerate(inputs):
        where = f"schools[{index}]"
        fault = urn_error(school.urn, f"{where}.urn")
        if fault is not None:
            errors.append(fault)
        elif school.urn in seen:
            errors.append(field_error(f"{where}.urn", f"repeats school {school.urn}",
                                      "urn_duplicate"))
        else:
            seen.add(school.urn)
        roll = school.pupils_on_roll
        fault = _count_error(roll, f"{where}.pupils_on_roll", None)
        if fault is not None:
            errors.append(fault)
        measures = school.measures if isinstance(school.measures, Mapping) else {}
        for code in formula.measure_codes:
            if code not in measures:
                errors.append(field_error(f"{where}.measures.{code}", "is missing",
                                          "measure_missing"))
                continue
            fault = _count_error(measures[code], f"{where}.measures.{code}", roll)
            if fault is not None:
                errors.append(fault)
    if not errors:  # the fast path and this one disagree: a bug, not a user's fault
        raise AssertionError("school inputs refused without a field error")
    return errors
