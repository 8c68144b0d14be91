"""Who a referral is about: one child, a cohort of pupils, or the whole school.

Decisions where the programme's design is silent:

* A child referral carries the child's identity (name, date of birth, UPN: the only place in the
  platform that holds them) apart from the census facts kept for statistics, so anonymisation
  drops exactly the :class:`ChildIdentity`. ``child_id`` is the opaque id every other service
  and every event uses.
* A child on a school's roll always has a UPN (permanent or temporary), so it is required.
* A cohort is at least two pupils (one pupil is a child referral), in one or more year groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from lfi_referrals.domain.census import NcYear, SenPrimaryNeed, SenProvision, sen_need_fault
from lfi_referrals.domain.errors import Fault
from lfi_referrals.domain.identifiers import upn_fault
from lfi_shared.http.problems import FieldError

MIN_COHORT_PUPILS = 2


class SubjectKind(StrEnum):
    CHILD = "child"
    COHORT = "cohort"
    WHOLE_SCHOOL = "whole_school"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildIdentity:
    """Who the child is. Personal data: never logged, never in an event or error message, and
    dropped when the referral is anonymised."""

    given_name: str
    family_name: str
    date_of_birth: date
    upn: str

    def __repr__(self) -> str:
        # Keeps names, date of birth and UPN out of logs and tracebacks that print the referral.
        return "ChildIdentity(<personal data>)"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildSubject:
    """A referral about one child; ``identity`` is ``None`` once anonymised."""

    kind: ClassVar[SubjectKind] = SubjectKind.CHILD
    child_id: UUID
    identity: ChildIdentity | None
    year_group: NcYear
    sen_provision: SenProvision
    primary_need: SenPrimaryNeed | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortSubject:
    """A referral about a group of pupils; ``description`` is free text (dropped when
    anonymised, since it may name pupils)."""

    kind: ClassVar[SubjectKind] = SubjectKind.COHORT
    description: str | None = field(repr=False)
    year_groups: frozenset[NcYear]
    pupil_count: int
    primary_needs: frozenset[SenPrimaryNeed]


@dataclass(frozen=True, slots=True, kw_only=True)
class WholeSchoolSubject:
    """A referral about the school as a whole."""

    kind: ClassVar[SubjectKind] = SubjectKind.WHOLE_SCHOOL


ReferralSubject = ChildSubject | CohortSubject | WholeSchoolSubject


def subject_faults(subject: ReferralSubject, *, on: date) -> list[FieldError]:
    """Every rule ``subject`` breaks, as field errors under ``body.child`` / ``body.cohort``,
    judged on the date ``on`` (a child must already be born). Messages never quote the child's
    personal data."""
    if isinstance(subject, ChildSubject):
        return _child_faults(subject, on)
    if isinstance(subject, CohortSubject):
        return _cohort_faults(subject)
    return []


def _child_faults(child: ChildSubject, on: date) -> list[FieldError]:
    errors: list[FieldError] = []
    identity = child.identity
    if identity is None:
        errors.append(Fault("missing", "The child's name, date of birth and UPN are required.")
                      .at("body.child"))
    else:
        if not identity.given_name.strip():
            errors.append(Fault("missing", "The child's given name is required.")
                          .at("body.child.given_name"))
        if not identity.family_name.strip():
            errors.append(Fault("missing", "The child's family name is required.")
                          .at("body.child.family_name"))
        if identity.date_of_birth >= on:
            errors.append(Fault("date_of_birth_not_past",
                                "The child's date of birth must be in the past.")
                          .at("body.child.date_of_birth"))
        if (fault := upn_fault(identity.upn)) is not None:
            errors.append(fault.at("body.child.upn"))
    if (fault := sen_need_fault(child.sen_provision, child.primary_need)) is not None:
        errors.append(fault.at("body.child.primary_need"))
    return errors


def _cohort_faults(cohort: CohortSubject) -> list[FieldError]:
    errors: list[FieldError] = []
    if not cohort.year_groups:
        errors.append(Fault("missing", "A cohort needs at least one year group.")
                      .at("body.cohort.year_groups"))
    if cohort.pupil_count < MIN_COHORT_PUPILS:
        errors.append(Fault("cohort_too_small",
                            "A cohort is at least two pupils; refer one pupil as a child.")
                      .at("body.cohort.pupil_count"))
    return errors
