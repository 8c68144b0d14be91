"""How long referral records keep personal data, and what anonymisation leaves.

Retention is per record class: a rule names the base date and the number of years after it
(both configuration, e.g. a child's identity kept until date of birth + 25 years). A record is
*past retention* from the day after its retention end date; the end date itself is still within.
A 29 February base date falls on 1 March in a year without one (as a birthday does in English
law).

Decisions where the design is silent:

* A referral is judged only once finished (closed, declined or withdrawn): a live referral is
  never past retention, whatever the base date.
* Anonymisation (:func:`anonymise_referral`) drops what identifies a child or a parent — name,
  date of birth, UPN, parental agreement — and every free-text field, which may name someone
  (concerns, cohort description, plan actions, notes). It keeps what statistics need: school,
  zone, year group(s), needs, SEN provision, pupil count, support requested and agreed, dates,
  reasons and outcomes, and the opaque ``child_id`` (to count distinct children; once the
  identity is gone no service can tie it to a person). Practitioner ids are kept: they are staff
  acting for the council, not the child's data. :data:`DROPPED_ON_ANONYMISATION` and
  :data:`KEPT_ON_ANONYMISATION` list the fields for the persistence layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from enum import StrEnum

from lfi_referrals.domain.lifecycle import FINAL_STATUSES, ReferralAction, next_status
from lfi_referrals.domain.policy import require_aware
from lfi_referrals.domain.referral import Referral
from lfi_referrals.domain.subjects import ChildSubject, CohortSubject


class RecordClass(StrEnum):
    CHILD_REFERRAL = "child_referral"
    GROUP_REFERRAL = "group_referral"  # a cohort or whole-school referral
    PHONELINE_CONTACT = "phoneline_contact"
    ACCESS_AUDIT = "access_audit"


class RetentionBase(StrEnum):
    """The date a retention period counts from."""

    DATE_OF_BIRTH = "date_of_birth"
    FINISHED_ON = "finished_on"  # the day a referral was closed, declined or withdrawn
    RECORDED_ON = "recorded_on"  # the day a contact or audit entry was recorded


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionRule:
    """Keep a record class for ``years`` after its ``base`` date.

    Raises:
        ValueError: (on construction) if ``years`` is negative.
    """

    base: RetentionBase
    years: int

    def __post_init__(self) -> None:
        if self.years < 0:
            raise ValueError("retention years cannot be negative")


@dataclass(frozen=True, slots=True)
class RetentionSchedule:
    """The retention rule of each record class (configuration)."""

    rules: Mapping[RecordClass, RetentionRule]

    def rule_for(self, record_class: RecordClass) -> RetentionRule:
        """The rule for ``record_class``.

        Raises:
            ValueError: if the schedule has no rule for it (a configuration mistake).
        """
        rule = self.rules.get(record_class)
        if rule is None:
            raise ValueError(f"no retention rule for {record_class.value}")
        return rule


def retention_ends_on(base_date: date, years: int) -> date:
    """The last day a record with ``base_date`` is kept: ``years`` after it (29 February →
    1 March when the year has none)."""
    try:
        return base_date.replace(year=base_date.year + years)
    except ValueError:  # 29 February in a common year
        return date(base_date.year + years, 3, 1)


def is_past_retention(base_date: date, rule: RetentionRule, today: date) -> bool:
    """Whether a record counted from ``base_date`` under ``rule`` is past retention on
    ``today`` (from the day after its end date)."""
    return today > retention_ends_on(base_date, rule.years)


def referral_record_class(referral: Referral) -> RecordClass:
    """The record class of ``referral``: a child referral, or a cohort / whole-school one."""
    if isinstance(referral.subject, ChildSubject):
        return RecordClass.CHILD_REFERRAL
    return RecordClass.GROUP_REFERRAL


def referral_retention_base(referral: Referral, rule: RetentionRule, *,
                            timezone: tzinfo) -> date | None:
    """The date ``referral``'s retention counts from under ``rule`` (the child's date of birth,
    the day it finished, or the day it was recorded), or ``None`` if it has none yet: the referral
    is not finished, or (for a date-of-birth rule) holds no date of birth."""
    finished_at = referral.finished_at
    if referral.status not in FINAL_STATUSES or finished_at is None:
        return None
    if rule.base is not RetentionBase.DATE_OF_BIRTH:
        moment = finished_at if rule.base is RetentionBase.FINISHED_ON else referral.created_at
        return moment.astimezone(timezone).date()
    subject = referral.subject
    if not isinstance(subject, ChildSubject) or subject.identity is None:
        return None
    return subject.identity.date_of_birth


def referral_is_past_retention(referral: Referral, schedule: RetentionSchedule, today: date, *,
                               timezone: tzinfo) -> bool:
    """Whether ``referral`` is finished, not yet anonymised, and past the retention of its
    record class on ``today``.

    Raises:
        ValueError: if ``schedule`` has no rule for the referral's record class.
    """
    if referral.anonymised_at is not None:
        return False
    rule = schedule.rule_for(referral_record_class(referral))
    base = referral_retention_base(referral, rule, timezone=timezone)
    return base is not None and is_past_retention(base, rule, today)


DROPPED_ON_ANONYMISATION: tuple[str, ...] = (
    "subject.identity",  # given name, family name, date of birth, UPN
    "subject.description",
    "concerns",
    "parental_agreement",
    "acceptance.plan.actions",
    "closure.note",
    "decline.note",
    "withdrawal.note",
)
"""Referral fields anonymisation empties (to ``None``, or ``()`` for plan actions)."""

KEPT_ON_ANONYMISATION: tuple[str, ...] = (
    "id", "school_urn", "zone_id", "status", "created_at", "submitted_at", "triage_due_on",
    "subject.child_id", "subject.year_group", "subject.sen_provision", "subject.primary_need",
    "subject.year_groups", "subject.pupil_count", "subject.primary_needs",
    "support_requested", "triage", "support_started_at",
    "acceptance.accepted_at", "acceptance.plan.level", "acceptance.plan.focus",
    "acceptance.plan.practitioner_id", "acceptance.plan.ep_hours", "acceptance.plan.review_on",
    "closure.closed_at", "closure.outcome", "decline.declined_at", "decline.reason",
    "withdrawal.withdrawn_at", "withdrawal.reason", "withdrawal.withdrawn_by",
    "placement_requests", "element3_reviews", "shown", "anonymised_at",
)
"""Referral fields anonymisation keeps for statistics (``anonymised_at`` is set by it)."""


def anonymise_referral(referral: Referral, *, at: datetime) -> Referral:
    """``referral`` with its personal data and free text dropped (see
    :data:`DROPPED_ON_ANONYMISATION`) and ``anonymised_at`` set. Anonymising again returns it
    unchanged.

    Raises:
        TransitionNotAllowed: unless the referral is closed, declined or withdrawn.
        ValueError: if ``at`` has no UTC offset.
    """
    next_status(referral.status, ReferralAction.ANONYMISE)
    require_aware(at)
    if referral.anonymised_at is not None:
        return referral
    subject = referral.subject
    if isinstance(subject, ChildSubject):
        subject = replace(subject, identity=None)
    elif isinstance(subject, CohortSubject):
        subject = replace(subject, description=None)
    acceptance = referral.acceptance
    if acceptance is not None:
        acceptance = replace(acceptance, plan=replace(acceptance.plan, actions=()))
    return replace(
        referral,
        subject=subject,
        concerns=None,
        parental_agreement=None,
        acceptance=acceptance,
        closure=referral.closure and replace(referral.closure, note=None),
        decline=referral.decline and replace(referral.decline, note=None),
        withdrawal=referral.withdrawal and replace(referral.withdrawal, note=None),
        anonymised_at=at,
    )
