"""The formula block: versioned formulas, exact allocations and their explanations."""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lfi_funding.domain.allocation import FormulaResult, SchoolFormulaInput, allocate
from lfi_funding.domain.errors import InvalidFundingInput
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.formula import Element3Formula, FactorBasis, FormulaFactor
from lfi_funding.domain.what_if import compare_allocations

YEAR = FinancialYear(2025)
MEASURES = ("fsm_ever6", "low_prior_attainment", "sen_support_pupils", "ehcp_pupils")


def make_formula(roll: str = "10", lump: str = "5000", version: int = 1,
                 **measures: str) -> Element3Formula:
    """A formula with a per-pupil factor, the four measures of need and a lump sum."""
    weights = {"fsm_ever6": "60", "low_prior_attainment": "80", "sen_support_pupils": "120",
               "ehcp_pupils": "400", **measures}
    return Element3Formula(YEAR, version, (
        FormulaFactor("pupils_on_roll", FactorBasis.PER_PUPIL_ON_ROLL, Decimal(roll)),
        *(FormulaFactor(code, FactorBasis.PER_PUPIL_IN_MEASURE, Decimal(weights[code]))
          for code in MEASURES),
        FormulaFactor("lump_sum", FactorBasis.PER_SCHOOL, Decimal(lump)),
    ))


def make_school(urn: str, roll: int = 200, **measures: int) -> SchoolFormulaInput:
    counts = {code: 0 for code in MEASURES}
    counts.update(measures)
    return SchoolFormulaInput(urn, roll, counts)


def exact_shares(block: int, formula: Element3Formula,
                 schools: list[SchoolFormulaInput]) -> list[Fraction]:
    """Each school's exact share, computed independently of the code under test."""
    def points(school: SchoolFormulaInput) -> Fraction:
        total = Fraction(0)
        for factor in formula.factors:
            if factor.basis is FactorBasis.PER_PUPIL_ON_ROLL:
                value = school.pupils_on_roll
            elif factor.basis is FactorBasis.PER_SCHOOL:
                value = 1
            else:
                value = school.measures[factor.code]
            total += Fraction(factor.weight) * value
        return total
    all_points = [points(s) for s in schools]
    return [Fraction(block) * p / sum(all_points) for p in all_points]


@st.composite
def school_inputs(draw: st.DrawFn, urn: int) -> SchoolFormulaInput:
    roll = draw(st.integers(min_value=0, max_value=3000))
    counts = {code: draw(st.integers(min_value=0, max_value=roll)) for code in MEASURES}
    return SchoolFormulaInput(f"{urn:06d}", roll, counts)


@st.composite
def schools_lists(draw: st.DrawFn) -> list[SchoolFormulaInput]:
    urns = draw(st.lists(st.integers(min_value=100000, max_value=999999), min_size=1,
                         max_size=300, unique=True))
    return [draw(school_inputs(urn)) for urn in urns]


weight = st.decimals(min_value=0, max_value=100_000, places=3)
formulas = st.tuples(weight, weight, weight, weight, weight, weight).filter(
    lambda ws: any(w != 0 for w in ws)
).map(lambda ws: Element3Formula(YEAR, 1, (
    FormulaFactor("pupils_on_roll", FactorBasis.PER_PUPIL_ON_ROLL, ws[0]),
    *(FormulaFactor(code, FactorBasis.PER_PUPIL_IN_MEASURE, w)
      for code, w in zip(MEASURES, ws[1:5], strict=True)),
    FormulaFactor("lump_sum", FactorBasis.PER_SCHOOL, ws[5]),
)))
blocks = st.integers(min_value=0, max_value=10**11)
property_settings = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])


@property_settings
@given(blocks, formulas, schools_lists())
def test_allocations_sum_to_the_block_each_within_a_penny_of_its_share(
        block: int, formula: Element3Formula, schools: list[SchoolFormulaInput]) -> None:
    total_points_zero = all(
        (f.basis is FactorBasis.PER_SCHOOL and f.weight == 0)
        or (f.basis is FactorBasis.PER_PUPIL_ON_ROLL and (f.weight == 0 or all(
            s.pupils_on_roll == 0 for s in schools)))
        or (f.basis is FactorBasis.PER_PUPIL_IN_MEASURE and (f.weight == 0 or all(
            s.measures[f.code] == 0 for s in schools)))
        for f in formula.factors
    )
    if total_points_zero and block > 0:
        with pytest.raises(InvalidFundingInput):
            allocate(block, formula, schools)
        return
    result = allocate(block, formula, schools)
    amounts = [a.amount_pence for a in result.allocations]
    assert [a.urn for a in result.allocations] == [s.urn for s in schools]
    assert all(type(a) is int and a >= 0 for a in amounts)
    assert sum(amounts) == block
    if block:
        shares = exact_shares(block, formula, schools)
        assert all(abs(a - share) < 1 for a, share in zip(amounts, shares, strict=True))


@property_settings
@given(blocks, formulas, schools_lists())
def test_each_explanation_sums_to_the_schools_allocation(
        block: int, formula: Element3Formula, schools: list[SchoolFormulaInput]) -> None:
    try:
        result = allocate(block, formula, schools)
    except InvalidFundingInput:
        return  # no school scores points: covered by the test above
    for allocation in result.allocations:
        contributions = allocation.contributions
        assert [c.factor_code for c in contributions] == [f.code for f in formula.factors]
        assert sum(c.amount_pence for c in contributions) == allocation.amount_pence
        assert all(c.amount_pence >= 0 for c in contributions)
        if allocation.points:
            for c, factor in zip(contributions, formula.factors, strict=True):
                exact = (Fraction(allocation.amount_pence) * Fraction(factor.weight) * c.value
                         / Fraction(allocation.points))
                assert abs(c.amount_pence - exact) < 1


@settings(max_examples=30, deadline=None)
@given(blocks, schools_lists(), st.randoms(use_true_random=False))
def test_allocation_does_not_depend_on_the_order_of_schools(
        block: int, schools: list[SchoolFormulaInput], rnd: random.Random) -> None:
    formula = make_formula()
    shuffled = list(schools)
    rnd.shuffle(shuffled)
    assert allocate(block, formula, schools).by_urn() == allocate(block, formula,
                                                                  shuffled).by_urn()


def test_worked_example_shares_by_points_and_explains_each_factor() -> None:
    formula = make_formula(roll="1", lump="100", fsm_ever6="2", low_prior_attainment="0",
                           sen_support_pupils="0", ehcp_pupils="0")
    schools = [make_school("100001", roll=100, fsm_ever6=50),   # 100 + 100 + 100 = 300 points
               make_school("100002", roll=600, fsm_ever6=150)]  # 600 + 300 + 100 = 1000 points
    result = allocate(130_000, formula, schools)
    first, second = result.allocations
    assert (first.amount_pence, second.amount_pence) == (30_000, 100_000)
    assert (first.points, second.points, result.total_points) == (
        Decimal(300), Decimal(1000), Decimal(1300))
    assert [(c.factor_code, c.value, c.amount_pence) for c in second.contributions] == [
        ("pupils_on_roll", 600, 60_000), ("fsm_ever6", 150, 30_000),
        ("low_prior_attainment", 0, 0), ("sen_support_pupils", 0, 0), ("ehcp_pupils", 0, 0),
        ("lump_sum", 1, 10_000),
    ]


def test_equal_shares_give_the_spare_penny_to_the_lowest_urn() -> None:
    formula = make_formula()
    schools = [make_school("300000"), make_school("100000"), make_school("200000")]
    result = allocate(100, formula, schools)
    assert {a.urn: a.amount_pence for a in result.allocations} == {
        "100000": 34, "200000": 33, "300000": 33}


def test_a_school_with_no_points_is_allocated_nothing() -> None:
    formula = make_formula(lump="0")
    result = allocate(1_000, formula, [make_school("100001", roll=0),
                                       make_school("100002", roll=10)])
    assert [a.amount_pence for a in result.allocations] == [0, 1_000]
    assert result.allocations[0].factor_pence == (0,) * len(formula.factors)


def test_no_points_anywhere_cannot_share_a_block() -> None:
    with pytest.raises(InvalidFundingInput) as caught:
        allocate(1_000, make_formula(lump="0"), [make_school("100001", roll=0)])
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "no_formula_points"
    assert allocate(0, make_formula(lump="0"), [make_school("100001", roll=0)]) \
        .allocations[0].amount_pence == 0


def test_what_if_with_other_weights_changes_allocations_and_nothing_else() -> None:
    formula = make_formula()
    schools = [make_school("100001", roll=100, ehcp_pupils=10),
               make_school("100002", roll=900, ehcp_pupils=0)]
    baseline = allocate(1_000_000, formula, schools)
    proposed = formula.revise({"ehcp_pupils": Decimal("4000")})
    scenario = allocate(1_000_000, proposed, schools)
    assert proposed.version == formula.version + 1
    assert formula.factors[4].weight == Decimal("400")  # the original is untouched
    changes = compare_allocations(baseline, scenario)
    assert [c.urn for c in changes] == ["100001", "100002"]
    assert changes[0].change_pence > 0
    assert sum(c.change_pence for c in changes) == 0
    bigger = allocate(2_000_000, formula, schools)
    assert sum(a.amount_pence for a in bigger.allocations) == 2_000_000


def test_revise_refuses_an_unknown_factor() -> None:
    with pytest.raises(InvalidFundingInput) as caught:
        make_formula().revise({"pupil_premium": Decimal(1)})
    assert caught.value.errors is not None
    assert caught.value.errors[0].field == "weights.pupil_premium"


@pytest.mark.parametrize(("factors", "field", "code"), [
    ((), "factors", "factors_empty"),
    ((FormulaFactor("roll", FactorBasis.PER_PUPIL_ON_ROLL, Decimal(-1)),),
     "factors[0].weight", "weight_negative"),
    ((FormulaFactor("roll", FactorBasis.PER_PUPIL_ON_ROLL, Decimal("0.0000001")),),
     "factors[0].weight", "weight_precision"),
    ((FormulaFactor("roll", FactorBasis.PER_PUPIL_ON_ROLL, Decimal("NaN")),),
     "factors[0].weight", "weight_invalid"),
    ((FormulaFactor("roll", FactorBasis.PER_PUPIL_ON_ROLL, Decimal(0)),),
     "factors", "weights_all_zero"),
    ((FormulaFactor("Roll Count", FactorBasis.PER_PUPIL_ON_ROLL, Decimal(1)),),
     "factors[0].code", "factor_code_format"),
    ((FormulaFactor("roll", FactorBasis.PER_PUPIL_ON_ROLL, Decimal(1)),
      FormulaFactor("roll", FactorBasis.PER_SCHOOL, Decimal(1))),
     "factors[1].code", "factor_code_duplicate"),
])
def test_formula_refuses_bad_factors(factors: tuple[FormulaFactor, ...], field: str,
                                     code: str) -> None:
    with pytest.raises(InvalidFundingInput) as caught:
        Element3Formula(YEAR, 1, factors)
    assert caught.value.errors is not None
    assert (field, code) in [(e.field, e.code) for e in caught.value.errors]


def _school(urn: object = "100002", roll: object = 100,
            measures: Mapping[str, object] | None = None) -> SchoolFormulaInput:
    counts: dict[str, object] = {code: 0 for code in MEASURES}
    counts.update(measures or {})
    return SchoolFormulaInput(urn, roll, counts)  # type: ignore[arg-type]


@pytest.mark.parametrize(("school", "field", "code"), [
    (_school(urn="12345"), "schools[1].urn", "urn_format"),
    (_school(urn=123456), "schools[1].urn", "urn_format"),
    (_school(urn="100001"), "schools[1].urn", "urn_duplicate"),
    (_school(roll=-1), "schools[1].pupils_on_roll", "count_negative"),
    (_school(roll=True), "schools[1].pupils_on_roll", "count_type"),
    (_school(roll=10.0), "schools[1].pupils_on_roll", "count_type"),
    (_school(measures={"fsm_ever6": 101}), "schools[1].measures.fsm_ever6", "count_above_roll"),
    (_school(measures={"ehcp_pupils": -2}), "schools[1].measures.ehcp_pupils",
     "count_negative"),
    (_school(measures={"ehcp_pupils": "2"}), "schools[1].measures.ehcp_pupils", "count_type"),
    (SchoolFormulaInput("100002", 100, {"fsm_ever6": 1}),
     "schools[1].measures.ehcp_pupils", "measure_missing"),
])
def test_bad_school_inputs_are_refused_naming_the_field(
        school: SchoolFormulaInput, field: str, code: str) -> None:
    schools = [make_school("100001"), school]
    with pytest.raises(InvalidFundingInput) as caught:
        allocate(1_000, make_formula(), schools)
    assert caught.value.errors is not None
    assert (field, code) in [(e.field, e.code) for e in caught.value.errors]


def test_every_bad_school_is_reported_up_to_a_cap() -> None:
    schools = [make_school(f"{100000 + i}", roll=-1) for i in range(200)]
    with pytest.raises(InvalidFundingInput) as caught:
        allocate(1_000, make_formula(), schools)
    assert caught.value.errors is not None
    assert len(caught.value.errors) == 50
    assert "150 more" in caught.value.detail


def test_measures_the_formula_does_not_use_are_ignored() -> None:
    school = SchoolFormulaInput("100001", 10, {**{code: 0 for code in MEASURES},
                                                "pupil_premium": 5_000})
    assert allocate(100, make_formula(), [school]).allocations[0].amount_pence == 100


@pytest.mark.parametrize("block", [-1, True, 10.0])
def test_block_must_be_non_negative_pence(block: object) -> None:
    with pytest.raises(InvalidFundingInput):
        allocate(block, make_formula(), [make_school("100001")])  # type: ignore[arg-type]


def test_no_schools_is_refused() -> None:
    with pytest.raises(InvalidFundingInput):
        allocate(1_000, make_formula(), [])


def test_result_names_the_year_and_formula_version() -> None:
    result: FormulaResult = allocate(1_000, make_formula(version=3), [make_school("100001")])
    assert (result.financial_year, result.formula_version, result.block_pence) == (YEAR, 3, 1_000)
