"""Census codes: year groups, key stages, SEN provision and need, exclusions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from lfi_referrals.domain.census import (
    Exclusion,
    ExclusionType,
    KeyStage,
    NationalCurriculumYear,
    NcYear,
    SenPrimaryNeed,
    SenProvision,
    check_exclusions,
    is_valid_nc_year,
    is_valid_sen_need,
    key_stage,
    parse_nc_year,
    sen_need_fault,
)
from lfi_referrals.domain.errors import InvalidIdentifier, InvalidReferral

EXPECTED_KEY_STAGES = {
    "N1": "EYFS", "N2": "EYFS", "R": "EYFS", "1": "KS1", "2": "KS1", "3": "KS2", "4": "KS2",
    "5": "KS2", "6": "KS2", "7": "KS3", "8": "KS3", "9": "KS3", "10": "KS4", "11": "KS4",
    "12": "KS5", "13": "KS5", "14": "KS5",
}


@pytest.mark.parametrize(("year", "stage"), sorted(EXPECTED_KEY_STAGES.items()))
def test_every_year_group_has_its_key_stage(year: str, stage: str) -> None:
    assert key_stage(NcYear(year)) is KeyStage(stage)


def test_the_year_groups_are_exactly_n1_n2_r_and_1_to_14() -> None:
    assert {year.value for year in NcYear} == set(EXPECTED_KEY_STAGES)


@pytest.mark.parametrize(("given", "year"), [
    (7, NcYear.Y7), ("7", NcYear.Y7), (" r ", NcYear.R), ("n1", NcYear.N1), (14, NcYear.Y14)])
def test_year_groups_are_read_from_integers_and_any_case(given: str | int, year: NcYear) -> None:
    assert parse_nc_year(given) is year


@pytest.mark.parametrize("given", [0, 15, "Y7", "N3", "", "reception", True])
def test_other_values_are_not_year_groups(given: str | int) -> None:
    assert not is_valid_nc_year(given)
    with pytest.raises(InvalidIdentifier) as caught:
        parse_nc_year(given)
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "nc_year"


def test_year_group_schema_type_takes_exactly_the_census_strings() -> None:
    class Child(BaseModel):
        year_group: NationalCurriculumYear

    assert Child.model_validate_json('{"year_group": "10"}').year_group is NcYear.Y10
    assert Child.model_validate_json('{"year_group": "R"}').year_group is NcYear.R
    for bad in ('10', '"r"', '"15"'):
        with pytest.raises(ValidationError):
            Child.model_validate_json(f'{{"year_group": {bad}}}')


@pytest.mark.parametrize(("provision", "need", "code"), [
    (SenProvision.NO_SEN, None, None),
    (SenProvision.NO_SEN, SenPrimaryNeed.SEMH, "primary_need_without_sen"),
    (SenProvision.SEN_SUPPORT, SenPrimaryNeed.NSA, None),
    (SenProvision.SEN_SUPPORT, SenPrimaryNeed.ASD, None),
    (SenProvision.SEN_SUPPORT, None, "primary_need_missing"),
    (SenProvision.EHC_PLAN, SenPrimaryNeed.SLCN, None),
    (SenProvision.EHC_PLAN, SenPrimaryNeed.NSA, "primary_need_nsa"),
    (SenProvision.EHC_PLAN, None, "primary_need_missing"),
])
def test_primary_need_follows_the_census_rules(provision: SenProvision,
                                               need: SenPrimaryNeed | None,
                                               code: str | None) -> None:
    fault = sen_need_fault(provision, need)
    assert (fault.code if fault else None) == code
    assert is_valid_sen_need(provision, need) is (code is None)


def test_sen_codes_are_the_census_codes() -> None:
    assert {p.value for p in SenProvision} == {"N", "K", "E"}
    assert {n.value for n in SenPrimaryNeed} == {
        "SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "OTH", "NSA"}
    assert {e.value for e in ExclusionType} == {"SUSP", "PERM", "LNCH"}


def _susp(days: str) -> Exclusion:
    return Exclusion(kind=ExclusionType.SUSPENSION, school_days=Decimal(days))


def test_suspensions_up_to_the_cap_are_allowed() -> None:
    check_exclusions([_susp("40"), _susp("4.5"),
                      Exclusion(kind=ExclusionType.LUNCHTIME, school_days=Decimal("0.5")),
                      Exclusion(kind=ExclusionType.PERMANENT, school_days=None)],
                     cap_school_days=45)


def test_suspensions_over_the_cap_are_refused_and_lunchtimes_count() -> None:
    exclusions = [_susp("44.5"),
                  Exclusion(kind=ExclusionType.LUNCHTIME, school_days=Decimal("0.5")),
                  Exclusion(kind=ExclusionType.LUNCHTIME, school_days=Decimal("0.5"))]
    with pytest.raises(InvalidReferral) as caught:
        check_exclusions(exclusions, cap_school_days=45)
    assert caught.value.errors is not None
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("body.exclusions", "suspension_cap")]


def test_the_cap_is_a_parameter() -> None:
    check_exclusions([_susp("10")], cap_school_days=10)
    with pytest.raises(InvalidReferral):
        check_exclusions([_susp("10.5")], cap_school_days=10)


@pytest.mark.parametrize("exclusion", [
    Exclusion(kind=ExclusionType.SUSPENSION, school_days=None),
    Exclusion(kind=ExclusionType.SUSPENSION, school_days=Decimal(0)),
    Exclusion(kind=ExclusionType.SUSPENSION, school_days=Decimal("0.3")),
    Exclusion(kind=ExclusionType.LUNCHTIME, school_days=Decimal("-0.5")),
    Exclusion(kind=ExclusionType.SUSPENSION, school_days=Decimal("NaN")),
    Exclusion(kind=ExclusionType.PERMANENT, school_days=Decimal(1)),
])
def test_malformed_exclusion_lengths_are_refused(exclusion: Exclusion) -> None:
    with pytest.raises(InvalidReferral) as caught:
        check_exclusions([_susp("1"), exclusion], cap_school_days=45)
    assert caught.value.errors is not None
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("body.exclusions[1].school_days", "exclusion_length")]
