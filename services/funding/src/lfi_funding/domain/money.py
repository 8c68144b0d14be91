"""Money: integer pence inside the domain, pound strings (``"35000000.00"``) at the API edge,
and exact apportionment of a sum of pence by the largest remainder method.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import TYPE_CHECKING

from lfi_funding.domain.errors import field_error, invalid
from lfi_shared.http.problems import FieldError

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

__all__ = [
    "Weight",
    "apportion_by_integer_weights",
    "integer_weights",
    "largest_remainder",
    "parse_pounds",
    "pounds_str",
]

Weight = int | Decimal | Fraction
"""A proportion to apportion by: any exact non-negative rational number."""

PENCE_PER_POUND = 100
MAX_POUND_DIGITS = 13
"""Whole-pound digits accepted by :func:`parse_pounds` (up to £9.99 trillion): a sanity bound."""

_POUNDS = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]{1,2}))?")


def pounds_str(pence: int) -> str:
    """Pence as the API's pound string, two decimals: ``3500000000`` → ``"35000000.00"``.

    Raises ``TypeError`` for anything but an ``int`` (a float would have lost pence already).
    """
    if isinstance(pence, bool) or not isinstance(pence, int):
        raise TypeError(f"pence must be an int, not {type(pence).__name__}")
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), PENCE_PER_POUND)
    return f"{sign}{pounds}.{rest:02d}"


def parse_pounds(text: object, *, field: str = "amount", allow_negative: bool = False) -> int:
    """A pound string (``"35000000.00"``, ``"12.5"``, ``"7"``) as integer pence.

    Strict: ASCII digits, no leading zeros, at most two decimals, no sign unless
    ``allow_negative`` (then a leading ``-``), no spaces, separators, currency symbols or
    exponents. Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` naming ``field``,
    with code ``money_format`` or ``money_negative``.
    """
    if not isinstance(text, str):
        raise invalid([field_error(field, "must be a string of pounds with up to two decimals, "
                                          'e.g. "1250.00"', "money_format")])
    match = _POUNDS.fullmatch(text)
    if match is None or len(match.group(2)) > MAX_POUND_DIGITS:
        raise invalid([field_error(
            field, f'"{text[:40]}" is not an amount of pounds with up to two decimals, '
                   'e.g. "1250.00"', "money_format")])
    sign, whole, decimals = match.groups()
    pence = int(whole) * PENCE_PER_POUND + int((decimals or "").ljust(2, "0"))
    if sign:
        if not allow_negative:
            raise invalid([field_error(field, "must not be negative", "money_negative")])
        pence = -pence
    return pence


def integer_weights(weights: Sequence[Weight], *, field: str = "weights") -> list[int]:
    """``weights`` scaled by one common factor to integers (the proportions are unchanged).

    Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` for a negative, infinite or
    NaN weight, or one of another type.
    """
    errors: list[FieldError] = []
    ratios: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        if isinstance(weight, bool) or not isinstance(weight, int | Decimal | Fraction):
            errors.append(field_error(f"{field}[{index}]", "must be a number", "weight_type"))
            continue
        if isinstance(weight, Decimal) and not weight.is_finite():
            errors.append(field_error(f"{field}[{index}]", "must be finite", "weight_not_finite"))
            continue
        if weight < 0:
            errors.append(field_error(f"{field}[{index}]", "must not be negative",
                                      "weight_negative"))
            continue
        ratios.append(weight.as_integer_ratio())
    if errors:
        raise invalid(errors)
    denominator = lcm(*(d for _, d in ratios)) if ratios else 1
    return [n * (denominator // d) for n, d in ratios]


def largest_remainder(total_pence: int, weights: Sequence[Weight], *,
                      tie_keys: Sequence[SupportsRichComparison] | None = None) -> list[int]:
    """Split ``total_pence`` into integer parts in proportion to ``weights``.

    The parts sum exactly to ``total_pence`` and each lies within 1p of its exact share (it is
    the share rounded down or up; an exact share is never moved). Pennies left after rounding
    down go to the largest fractional remainders; equal remainders are broken by ``tie_keys``
    ascending when given (e.g. URN, so the result does not depend on input order), then by
    position.

    All-zero (or no) weights: a total of 0 gives all-zero parts; any other total raises
    :class:`~lfi_funding.domain.errors.InvalidFundingInput` (code ``weights_all_zero``), because
    there is no proportion to share it by. A negative total is split the same way (parts are
    then non-positive).
    """
    if tie_keys is not None and len(tie_keys) != len(weights):
        raise ValueError("tie_keys must be as long as weights")
    return apportion_by_integer_weights(total_pence, integer_weights(weights), tie_keys)


def apportion_by_integer_weights(
    total_pence: int, weights: Sequence[int],
    tie_keys: Sequence[SupportsRichComparison] | None = None,
) -> list[int]:
    """:func:`largest_remainder` for weights already checked to be non-negative ``int``.

    The fast path: one ``divmod`` per part and at most two C-level sorts, so it is linear-log
    in the number of parts. Raises as :func:`largest_remainder` does for all-zero weights.
    """
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total_pence == 0:
            return [0] * len(weights)
        raise invalid([field_error(
            "weights", f"all weights are zero, so £{pounds_str(total_pence)} cannot be shared "
                       "in proportion to them", "weights_all_zero")])
    parts: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        part, remainder = divmod(total_pence * weight, weight_sum)
        parts.append(part)
        remainders.append(remainder)
    # Rounding every share down leaves 0 <= short < len(weights) pence; the remainders add up to
    # short * weight_sum, so only parts with a non-zero remainder can be chosen.
    short = total_pence - sum(parts)
    if short:
        order: list[int] = list(range(len(weights)))
        if tie_keys is not None:
            order.sort(key=tie_keys.__getitem__)
        # A stable sort in reverse keeps equal remainders in the tie-break order.
        order.sort(key=remainders.__getitem__, reverse=True)
        for index in order[:short]:
            parts[index] += 1
    return parts
