"""Pounds strings and exact apportionment of pence."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lfi_funding.domain.errors import InvalidFundingInput
from lfi_funding.domain.money import largest_remainder, parse_pounds, pounds_str

MAX_PENCE = 10**15 - 1  # 13 whole-pound digits


@pytest.mark.parametrize(("pence", "text"), [
    (0, "0.00"), (1, "0.01"), (99, "0.99"), (100, "1.00"), (123456, "1234.56"),
    (3_500_000_000, "35000000.00"), (-5, "-0.05"), (-123456, "-1234.56"),
])
def test_pounds_str_gives_two_decimals(pence: int, text: str) -> None:
    assert pounds_str(pence) == text


@pytest.mark.parametrize("value", [1.5, Decimal("1.50"), "150", True])
def test_pounds_str_refuses_anything_but_int(value: object) -> None:
    with pytest.raises(TypeError):
        pounds_str(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "pence"), [
    ("0", 0), ("0.00", 0), ("7", 700), ("12.3", 1230), ("0.05", 5), ("35000000.00", 3_500_000_000),
    ("9999999999999.99", MAX_PENCE),
])
def test_parse_pounds_reads_up_to_two_decimals(text: str, pence: int) -> None:
    assert parse_pounds(text) == pence


@given(st.integers(min_value=0, max_value=MAX_PENCE))
def test_pounds_round_trip(pence: int) -> None:
    assert parse_pounds(pounds_str(pence)) == pence


@given(st.integers(min_value=-MAX_PENCE, max_value=MAX_PENCE))
def test_signed_pounds_round_trip_when_negatives_allowed(pence: int) -> None:
    assert parse_pounds(pounds_str(pence), allow_negative=True) == pence


@pytest.mark.parametrize("text", [
    "", " ", "1.001", "1,000.00", "£1.00", " 1.00", "1.00 ", "1e3", "+1.00", ".50", "1.", "01.00",
    "00", "NaN", "Infinity", "1.0.0", "--1", "\u0661\u0662", "1\n", "12345678901234.00",
])
def test_parse_pounds_rejects_malformed_strings(text: str) -> None:
    with pytest.raises(InvalidFundingInput) as caught:
        parse_pounds(text, field="body.amount")
    assert caught.value.status == 422
    assert caught.value.errors is not None
    assert caught.value.errors[0].field == "body.amount"
    assert caught.value.errors[0].code == "money_format"


@pytest.mark.parametrize("value", [1.5, 150, None, Decimal("1.50"), b"1.50"])
def test_parse_pounds_rejects_non_strings(value: object) -> None:
    with pytest.raises(InvalidFundingInput):
        parse_pounds(value)


@pytest.mark.parametrize("text", ["-1.00", "-0.01", "-0"])
def test_parse_pounds_rejects_negative_unless_allowed(text: str) -> None:
    with pytest.raises(InvalidFundingInput) as caught:
        parse_pounds(text)
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "money_negative"
    assert parse_pounds(text, allow_negative=True) <= 0


weights_strategy = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**9),
        st.decimals(min_value=0, max_value=10**6, places=4),
        st.fractions(min_value=0, max_value=10**4, max_denominator=1000),
    ),
    min_size=1, max_size=60,
).filter(lambda ws: any(w != 0 for w in ws))


@given(st.integers(min_value=-(10**12), max_value=10**12), weights_strategy)
def test_largest_remainder_sums_exactly_and_stays_within_a_penny(
        total: int, weights: list[int | Decimal | Fraction]) -> None:
    parts = largest_remainder(total, weights)
    exact = [Fraction(total) * Fraction(w) / sum(Fraction(x) for x in weights) for w in weights]
    assert sum(parts) == total
    assert all(isinstance(p, int) for p in parts)
    assert all(abs(p - e) < 1 for p, e in zip(parts, exact, strict=True))
    # An exact whole share is never moved.
    assert all(p == e for p, e in zip(parts, exact, strict=True) if e.denominator == 1)


def test_largest_remainder_breaks_ties_by_position_then_by_key() -> None:
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert largest_remainder(200, [1, 1, 1]) == [67, 67, 66]
    assert largest_remainder(100, [1, 1, 1], tie_keys=["c", "a", "b"]) == [33, 34, 33]


def test_largest_remainder_gives_the_penny_to_the_largest_remainder() -> None:
    # Exact shares 1.5, 3.3 and 5.2 pence: the 0.5 remainder wins the leftover penny.
    assert largest_remainder(10, [Fraction(15), Fraction(33), Fraction(52)]) == [2, 3, 5]


def test_largest_remainder_refuses_all_zero_weights_for_a_non_zero_total() -> None:
    with pytest.raises(InvalidFundingInput) as caught:
        largest_remainder(100, [0, Decimal(0), Fraction(0)])
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "weights_all_zero"
    with pytest.raises(InvalidFundingInput):
        largest_remainder(1, [])


def test_largest_remainder_shares_nothing_by_zero_weights() -> None:
    assert largest_remainder(0, [0, 0]) == [0, 0]
    assert largest_remainder(0, []) == []


@pytest.mark.parametrize("bad", [-1, Decimal("-0.01"), Fraction(-1, 3), Decimal("NaN"),
                                 Decimal("Infinity"), 1.5, True])
def test_largest_remainder_refuses_bad_weights(bad: object) -> None:
    with pytest.raises(InvalidFundingInput) as caught:
        largest_remainder(100, [1, bad])  # type: ignore[list-item]
    assert caught.value.errors is not None
    assert caught.value.errors[0].field == "weights[1]"


def test_largest_remainder_needs_one_tie_key_per_weight() -> None:
    with pytest.raises(ValueError, match="tie_keys"):
        largest_remainder(100, [1, 2], tie_keys=["a"])
