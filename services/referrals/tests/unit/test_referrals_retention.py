"""Retention per record class, and what anonymisation drops and keeps."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from referrals_factories import (
    CHILD_DATE_OF_BIRTH,
    LONDON,
    POLICY,
    agreement,
    at,
    referral_in,
)

from lfi_referrals.domain import referral as r
from lfi_referrals.domain.errors import TransitionNotAllowed
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.domain.referral import Referral
from lfi_referrals.domain.retention import (
    DROPPED_ON_ANONYMISATION,
    KEPT_ON_ANONYMISATION,
    RecordClass,
    RetentionBase,
    RetentionRule,
    RetentionSchedule,
    anonymise_referral,
    is_past_retention,
    referral_is_past_retention,
    referral_record_class,
    retention_ends_on,
)
from lfi_referrals.domain.subjects import ChildSubject, SubjectKind
from lfi_referrals.domain.support import ClosureOutcome, PlacementPriority, ProvisionType

IDENTITY_25_YEARS = RetentionRule(base=RetentionBase.DATE_OF_BIRTH, years=25)
SCHEDULE = RetentionSchedule({
    RecordClass.CHILD_REFERRAL: IDENTITY_25_YEARS,
    RecordClass.GROUP_REFERRAL: RetentionRule(base=RetentionBase.FINISHED_ON, years=6),
})
DOB_PLUS_25 = date(2037, 5, 17)  # the factories' child was born on 17 May 2012


def test_a_record_is_kept_through_its_end_date_and_past_retention_the_day_after() -> None:
    assert retention_ends_on(CHILD_DATE_OF_BIRTH, 25) == DOB_PLUS_25
    assert not is_past_retention(CHILD_DATE_OF_BIRTH, IDENTITY_25_YEARS, date(2037, 5, 16))
    assert not is_past_retention(CHILD_DATE_OF_BIRTH, IDENTITY_25_YEARS, DOB_PLUS_25)
    assert is_past_retention(CHILD_DATE_OF_BIRTH, IDENTITY_25_YEARS, date(2037, 5, 18))


def test_the_number_of_years_is_a_parameter() -> None:
    rule = RetentionRule(base=RetentionBase.DATE_OF_BIRTH, years=35)
    assert not is_past_retention(CHILD_DATE_OF_BIRTH, rule, date(2037, 5, 18))
    assert is_past_retention(CHILD_DATE_OF_BIRTH, rule, date(2047, 5, 18))


def test_a_leap_day_base_ends_on_the_first_of_march() -> None:
    leap_day = date(2004, 2, 29)
    assert retention_ends_on(leap_day, 25) == date(2029, 3, 1)
    assert retention_ends_on(leap_day, 24) == date(2028, 2, 29)
    rule = RetentionRule(base=RetentionBase.DATE_OF_BIRTH, years=25)
    assert not is_past_retention(leap_day, rule, date(2029, 3, 1))
    assert is_past_retention(leap_day, rule, date(2029, 3, 2))


def test_negative_years_are_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        RetentionRule(base=RetentionBase.RECORDED_ON, years=-1)


def test_a_closed_child_referral_is_past_retention_after_dob_plus_the_years() -> None:
    closed = referral_in(ReferralStatus.CLOSED)
    assert referral_record_class(closed) is RecordClass.CHILD_REFERRAL
    assert not referral_is_past_retention(closed, SCHEDULE, DOB_PLUS_25, timezone=LONDON)
    assert referral_is_past_retention(closed, SCHEDULE, date(2037, 5, 18), timezone=LONDON)


@pytest.mark.parametrize("status", [ReferralStatus.SUBMITTED, ReferralStatus.IN_SUPPORT])
def test_a_live_referral_is_never_past_retention(status: ReferralStatus) -> None:
    assert not referral_is_past_retention(referral_in(status), SCHEDULE, date(2099, 1, 1),
                                          timezone=LONDON)


def test_a_group_referral_counts_from_the_day_it_finished() -> None:
    withdrawn = referral_in(ReferralStatus.WITHDRAWN, SubjectKind.COHORT)  # 6 October 2025
    assert referral_record_class(withdrawn) is RecordClass.GROUP_REFERRAL
    assert not referral_is_past_retention(withdrawn, SCHEDULE, date(2031, 10, 6), timezone=LONDON)
    assert referral_is_past_retention(withdrawn, SCHEDULE, date(2031, 10, 7), timezone=LONDON)


def test_a_schedule_without_the_record_class_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="no retention rule"):
        referral_is_past_retention(referral_in(ReferralStatus.CLOSED), RetentionSchedule({}),
                                   date(2099, 1, 1), timezone=LONDON)


# --------------------------------------------------------------------------- anonymisation


def _full_child_referral() -> Referral:
    ref = referral_in(ReferralStatus.IN_SUPPORT)
    ref = r.request_placement(ref, request_id=ref.id, provision_type=ProvisionType.EIB,
                              priority=PlacementPriority.STANDARD, at=at(10), policy=POLICY,
                              parental_agreement=agreement()).referral
    return r.close(ref, outcome=ClosureOutcome.OTHER, note="Moved to live with an aunt",
                   at=at(90)).referral


def _value(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if obj is None or not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return obj


_CLASSIFIED = (*DROPPED_ON_ANONYMISATION, *KEPT_ON_ANONYMISATION)


def _leaf_paths(obj: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for f in dataclasses.fields(obj):
        path = f"{prefix}{f.name}"
        value = getattr(obj, f.name)
        if path in DROPPED_ON_ANONYMISATION or path in KEPT_ON_ANONYMISATION:
            paths.add(path)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            paths |= _leaf_paths(value, f"{path}.")
        elif value is None and any(p.startswith(f"{path}.") for p in _CLASSIFIED):
            continue  # a stage the referral never reached; its fields are classified
        else:
            paths.add(path)
    return paths


@pytest.mark.parametrize("ref", [
    _full_child_referral(),
    referral_in(ReferralStatus.DECLINED, SubjectKind.COHORT),
    referral_in(ReferralStatus.WITHDRAWN, SubjectKind.WHOLE_SCHOOL),
], ids=["child", "cohort", "whole_school"])
def test_every_field_is_either_dropped_or_kept(ref: Referral) -> None:
    unclassified = _leaf_paths(ref) - set(DROPPED_ON_ANONYMISATION) - set(KEPT_ON_ANONYMISATION)
    assert unclassified == set()


def test_anonymising_drops_identity_and_free_text_and_keeps_statistics() -> None:
    ref = _full_child_referral()
    anonymised = anonymise_referral(ref, at=at(5000))
    for path in DROPPED_ON_ANONYMISATION:
        assert _value(anonymised, path) in (None, ()), path
    for path in KEPT_ON_ANONYMISATION:
        if path != "anonymised_at":
            assert _value(anonymised, path) == _value(ref, path), path
    assert anonymised.anonymised_at == at(5000)
    subject = anonymised.subject
    assert isinstance(subject, ChildSubject) and subject.identity is None
    assert (subject.year_group, subject.sen_provision, subject.primary_need) == (
        ref.subject.year_group, ref.subject.sen_provision,  # type: ignore[union-attr]
        ref.subject.primary_need)  # type: ignore[union-attr]


def test_the_dropped_fields_held_something_before() -> None:
    ref = _full_child_referral()
    for path in ("subject.identity", "concerns", "parental_agreement",
                 "acceptance.plan.actions", "closure.note"):
        assert _value(ref, path) not in (None, ()), path


def test_anonymising_twice_changes_nothing_more() -> None:
    once = anonymise_referral(_full_child_referral(), at=at(5000))
    assert anonymise_referral(once, at=at(6000)) == once


def test_an_anonymised_referral_is_no_longer_due_for_retention() -> None:
    once = anonymise_referral(_full_child_referral(), at=at(5000))
    assert not referral_is_past_retention(once, SCHEDULE, date(2099, 1, 1), timezone=LONDON)


@pytest.mark.parametrize("status", [ReferralStatus.DRAFT, ReferralStatus.ACCEPTED])
def test_a_live_referral_cannot_be_anonymised(status: ReferralStatus) -> None:
    with pytest.raises(TransitionNotAllowed):
        anonymise_referral(referral_in(status), at=at(5000))
