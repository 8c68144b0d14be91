"""Financial years, the Element 3 budget, commitments against the cohort block, and seed data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from lfi_funding.domain.budget import (
    BudgetBlock,
    BudgetStatus,
    Element3Budget,
    formula_block_from_transfer,
)
from lfi_funding.domain.errors import BudgetExceeded, IllegalTransition, InvalidFundingInput
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.money import parse_pounds
from lfi_funding.domain.seed_data import (
    ELEMENT3_BUDGETS,
    ILLUSTRATIVE_SCHOOLS_BLOCK_2025_26,
    PAYMENT_PROFILE,
    SCHOOLS_BLOCK_TRANSFER_RATE,
)

YEAR = FinancialYear(2025)
APPROVED_ON = date(2025, 2, 20)


def approved_budget(total: int = 10_000, formula_block: int = 4_000) -> Element3Budget:
    budget = Element3Budget.draft(YEAR, total, formula_block)
    budget.approve(APPROVED_ON)
    return budget


# Financial years

def test_financial_year_label_and_dates() -> None:
    year = FinancialYear.parse("2025-26")
    assert (year.label, year.starts_on, year.ends_on) == ("2025-26", date(2025, 4, 1),
                                                          date(2026, 3, 31))
    assert FinancialYear.parse("1999-00").ends_on == date(2000, 3, 31)
    assert str(FinancialYear(2020)) == "2020-21"
    assert FinancialYear(2024).next() == YEAR


@pytest.mark.parametrize(("day", "label"), [
    (date(2025, 3, 31), "2024-25"), (date(2025, 4, 1), "2025-26"), (date(2026, 1, 15), "2025-26"),
])
def test_financial_year_containing_a_day(day: date, label: str) -> None:
    year = FinancialYear.containing(day)
    assert year.label == label
    assert year.contains(day)


@pytest.mark.parametrize("label", ["2025-27", "2025/26", "2025-2026", "25-26", "", "2025-26 ",
                                   2025])
def test_financial_year_refuses_bad_labels(label: object) -> None:
    with pytest.raises(InvalidFundingInput) as caught:
        FinancialYear.parse(label)
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "financial_year_format"


# Drafting and approval

def test_draft_splits_the_total_into_formula_and_cohort_blocks() -> None:
    budget = Element3Budget.draft(YEAR, 10_000, 4_000)
    assert budget.status is BudgetStatus.DRAFT
    assert (budget.formula_block_pence, budget.cohort_block_pence, budget.total_pence) == (
        4_000, 6_000, 10_000)
    budget.revise_draft(total_pence=12_000)
    assert (budget.formula_block_pence, budget.cohort_block_pence) == (4_000, 8_000)
    budget.revise_draft(formula_block_pence=5_000)
    assert (budget.formula_block_pence, budget.cohort_block_pence) == (5_000, 7_000)


@pytest.mark.parametrize(("total", "formula_block"), [(100, 101), (-1, 0), (100, -1)])
def test_draft_refuses_a_formula_block_outside_the_total(total: int, formula_block: int) -> None:
    with pytest.raises(InvalidFundingInput):
        Element3Budget.draft(YEAR, total, formula_block)


def test_formula_block_is_the_transfer_fraction_of_the_schools_block() -> None:
    rate = Decimal("0.015")
    assert formula_block_from_transfer(100, rate) == 2    # 1.5p: halves round up
    assert formula_block_from_transfer(99, rate) == 1     # 1.485p
    assert formula_block_from_transfer(101, rate) == 2    # 1.515p
    assert formula_block_from_transfer(parse_pounds("600000000.00"), rate) == parse_pounds(
        "9000000.00")
    with pytest.raises(InvalidFundingInput):
        formula_block_from_transfer(100, Decimal("1.5"))


def test_approved_budget_changes_only_by_adjustment_with_a_reason() -> None:
    budget = approved_budget()
    assert (budget.status, budget.approved_on) == (BudgetStatus.APPROVED, APPROVED_ON)
    with pytest.raises(IllegalTransition):
        budget.revise_draft(total_pence=1)
    with pytest.raises(IllegalTransition):
        budget.approve(APPROVED_ON)
    with pytest.raises(InvalidFundingInput) as caught:
        budget.adjust(BudgetBlock.COHORT, 500, "   ", date(2025, 6, 1))
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "reason_required"

    record = budget.adjust(BudgetBlock.COHORT, 500, " In-year DSG top-up ", date(2025, 6, 1))
    assert (record.block, record.amount_pence, record.reason) == (
        BudgetBlock.COHORT, 500, "In-year DSG top-up")
    assert budget.cohort_block_pence == 6_500
    budget.adjust(BudgetBlock.FORMULA, -1_000, "Transfer reduced", date(2025, 7, 1))
    assert (budget.formula_block_pence, budget.total_pence) == (3_000, 9_500)
    assert [a.amount_pence for a in budget.adjustments] == [500, -1_000]


def test_draft_budget_is_revised_not_adjusted() -> None:
    with pytest.raises(IllegalTransition):
        Element3Budget.draft(YEAR, 100, 0).adjust(BudgetBlock.COHORT, 1, "why", APPROVED_ON)


def test_adjustment_cannot_take_the_formula_block_below_zero() -> None:
    with pytest.raises(InvalidFundingInput):
        approved_budget().adjust(BudgetBlock.FORMULA, -4_001, "cut", APPROVED_ON)


# Commitments

def test_commit_returns_the_new_committed_total_up_to_the_cohort_block() -> None:
    budget = approved_budget()
    assert budget.commit(2_500) == 2_500
    assert budget.commit(3_500) == 6_000  # exactly the cohort block
    assert budget.remaining_pence == 0


def test_commit_past_the_cohort_block_is_refused_with_the_remaining_amount() -> None:
    budget = approved_budget(total=parse_pounds("35000000.00"),
                             formula_block=parse_pounds("9300000.00"))
    budget.commit(parse_pounds("25000000.00"))
    with pytest.raises(BudgetExceeded) as caught:
        budget.commit(parse_pounds("700000.01"))
    error = caught.value
    assert error.status == 409
    assert error.remaining_pence == parse_pounds("700000.00")
    assert error.extra["remaining"] == "700000.00"
    assert error.extra["requested"] == "700000.01"
    assert "£700000.00 remains" in error.detail
    assert budget.committed_pence == parse_pounds("25000000.00")  # nothing changed


def test_formula_block_is_not_available_to_commitments() -> None:
    with pytest.raises(BudgetExceeded):
        approved_budget(total=10_000, formula_block=4_000).commit(6_001)


def test_nothing_is_committed_against_a_draft() -> None:
    with pytest.raises(IllegalTransition):
        Element3Budget.draft(YEAR, 100, 0).commit(1)


@pytest.mark.parametrize("award", [0, -1, True])
def test_commit_needs_a_positive_award(award: int) -> None:
    with pytest.raises(InvalidFundingInput):
        approved_budget().commit(award)


def test_release_gives_back_a_commitment_but_no_more() -> None:
    budget = approved_budget()
    budget.commit(1_000)
    assert budget.release(400) == 600
    with pytest.raises(InvalidFundingInput):
        budget.release(601)


def test_cohort_block_cannot_be_cut_below_its_commitments() -> None:
    budget = approved_budget()
    budget.commit(5_000)
    with pytest.raises(BudgetExceeded) as caught:
        budget.adjust(BudgetBlock.COHORT, -1_001, "cut", APPROVED_ON)
    assert caught.value.remaining_pence == 1_000
    budget.adjust(BudgetBlock.COHORT, -1_000, "cut", APPROVED_ON)
    assert budget.remaining_pence == 0


# Seed data

def test_seed_budgets_hold_the_published_figures() -> None:
    by_year = {b.financial_year.label: b for b in ELEMENT3_BUDGETS}
    assert by_year["2020-21"].total_pence == parse_pounds("9000000.00")
    assert by_year["2024-25"].total_pence == parse_pounds("35000000.00")
    assert by_year["2025-26"].total_pence == parse_pounds("35000000.00")
    assert not any(by_year[y].total_illustrative for y in ("2020-21", "2024-25", "2025-26"))


def test_seed_intermediate_years_are_marked_illustrative_and_lie_between() -> None:
    years = [b.financial_year for b in ELEMENT3_BUDGETS]
    assert [y.label for y in years] == ["2020-21", "2021-22", "2022-23", "2023-24", "2024-25",
                                        "2025-26"]
    middle = [b for b in ELEMENT3_BUDGETS if b.financial_year.label in
              ("2021-22", "2022-23", "2023-24")]
    assert all(b.total_illustrative and "ILLUSTRATIVE" in b.note for b in middle)
    totals = [b.total_pence for b in ELEMENT3_BUDGETS]
    assert totals == sorted(totals)


def test_seed_2025_26_formula_block_is_the_transfer_and_fits_the_budget() -> None:
    seed = next(b for b in ELEMENT3_BUDGETS if b.financial_year == YEAR)
    assert seed.formula_block_pence == formula_block_from_transfer(
        ILLUSTRATIVE_SCHOOLS_BLOCK_2025_26, SCHOOLS_BLOCK_TRANSFER_RATE)
    assert seed.formula_block_illustrative
    budget = Element3Budget.draft(seed.financial_year, seed.total_pence, seed.formula_block_pence)
    assert budget.cohort_block_pence > 0
    assert SCHOOLS_BLOCK_TRANSFER_RATE == Decimal("0.015")


def test_seed_payment_profile_is_four_three_five_twelfths() -> None:
    assert [share for _, share in PAYMENT_PROFILE.shares] == [
        Fraction(4, 12), Fraction(3, 12), Fraction(5, 12)]
