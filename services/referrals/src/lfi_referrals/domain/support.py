"""What a school asks for, and what the Team Around the School agrees.

Decisions where the programme's design is silent:

* Which requests each subject may make (:data:`REQUESTS_ALLOWED_FOR`): EIB and APC places are
  for one child; an Element 3 review is for a cohort or the whole school (the cohort / whole-
  school block); KS3 transition outreach is for a child or a cohort; EP consultation, outreach and
  Tier 1 training suit every subject.
* A support plan's focus need not match the subject (a child referral may lead to whole-school
  training, a whole-school referral to cohort work), but a cohort or whole-school referral cannot
  have a child-focused plan, since no child is identified.
* EP hours are a decimal with at most two places, from zero to a configured maximum.
* Closing, declining and withdrawing take a reason *code* (for statistics and events) and an
  optional note (free text, dropped when anonymised); the note is required with ``other``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from lfi_referrals.domain.errors import Fault
from lfi_referrals.domain.subjects import SubjectKind
from lfi_shared.http.problems import FieldError

# ----------------------------------------------------------------------- support requested


class SupportRequest(StrEnum):
    EP_CONSULTATION = "ep_consultation"
    OUTREACH = "outreach"
    TIER1_TRAINING = "tier1_training"
    EIB_PLACE = "eib_place"
    APC_PLACE = "apc_place"
    KS3_TRANSITION_OUTREACH = "ks3_transition_outreach"
    ELEMENT3_REVIEW = "element3_review"


PLACE_REQUESTS: frozenset[SupportRequest] = frozenset(
    {SupportRequest.EIB_PLACE, SupportRequest.APC_PLACE})
"""Requests for a place that needs the parents' agreement."""

_FOR_EVERY_SUBJECT = frozenset({SupportRequest.EP_CONSULTATION, SupportRequest.OUTREACH,
                                SupportRequest.TIER1_TRAINING})

REQUESTS_ALLOWED_FOR: dict[SubjectKind, frozenset[SupportRequest]] = {
    SubjectKind.CHILD: _FOR_EVERY_SUBJECT | PLACE_REQUESTS
    | {SupportRequest.KS3_TRANSITION_OUTREACH},
    SubjectKind.COHORT: _FOR_EVERY_SUBJECT
    | {SupportRequest.KS3_TRANSITION_OUTREACH, SupportRequest.ELEMENT3_REVIEW},
    SubjectKind.WHOLE_SCHOOL: _FOR_EVERY_SUBJECT | {SupportRequest.ELEMENT3_REVIEW},
}
"""The support each kind of referral may ask for."""


def support_request_faults(kind: SubjectKind,
                           requested: Collection[SupportRequest]) -> list[FieldError]:
    """A field error for each request in ``requested`` that a ``kind`` referral may not make."""
    allowed = REQUESTS_ALLOWED_FOR[kind]
    subject = kind.value.replace("_", " ")
    return [Fault("support_not_allowed_for_subject",
                  f"A {subject} referral cannot request {request.value}.")
            .at("body.support_requested")
            for request in sorted(requested) if request not in allowed]


def needs_parental_agreement(requested: Collection[SupportRequest]) -> bool:
    """Whether ``requested`` includes a place (EIB or APC), which parents must agree to."""
    return not PLACE_REQUESTS.isdisjoint(requested)


# ---------------------------------------------------------------------- parental agreement


class ParentRelationship(StrEnum):
    """Who gave agreement, by their relationship to the child."""

    PARENT = "parent"
    CARER = "carer"
    GUARDIAN = "guardian"
    CORPORATE_PARENT = "corporate_parent"  # the local authority, for a looked-after child
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class ParentalAgreement:
    """The record that a person with parental responsibility agreed to a placement."""

    relationship: ParentRelationship
    agreed_on: date


def parental_agreement_faults(agreement: ParentalAgreement, *, on: date,
                              field: str = "body.parental_agreement") -> list[FieldError]:
    """Field errors if ``agreement`` is dated after ``on`` (agreement cannot be recorded ahead)."""
    if agreement.agreed_on > on:
        return [Fault("agreement_in_future", "Parental agreement cannot be dated in the future.")
                .at(f"{field}.agreed_on")]
    return []


# ---------------------------------------------------------------------------- support plan


class SupportLevel(StrEnum):
    UNIVERSAL = "universal"
    TARGETED = "targeted"
    ENHANCED = "enhanced"


class SupportFocus(StrEnum):
    WHOLE_SCHOOL = "whole_school"
    COHORT = "cohort"
    CHILD = "child"


FOCUS_ALLOWED_FOR: dict[SubjectKind, frozenset[SupportFocus]] = {
    SubjectKind.CHILD: frozenset(SupportFocus),
    SubjectKind.COHORT: frozenset({SupportFocus.COHORT, SupportFocus.WHOLE_SCHOOL}),
    SubjectKind.WHOLE_SCHOOL: frozenset({SupportFocus.WHOLE_SCHOOL, SupportFocus.COHORT}),
}
"""The plan focus each kind of referral may be given."""

_EP_HOURS_PLACES = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class SupportPlan:
    """What TAS agreed on accepting a referral. ``actions`` are free text (dropped when
    anonymised); ``practitioner_id`` is the lead practitioner."""

    level: SupportLevel
    focus: SupportFocus
    actions: tuple[str, ...] = field(repr=False)
    practitioner_id: UUID
    ep_hours: Decimal
    review_on: date


def support_plan_faults(plan: SupportPlan, *, subject_kind: SubjectKind, accepted_on: date,
                        max_ep_hours: Decimal,
                        field: str = "body.support_plan") -> list[FieldError]:
    """Every rule ``plan`` breaks for a ``subject_kind`` referral accepted on ``accepted_on``:
    focus allowed for the subject, at least one action and none blank, EP hours a finite
    decimal from 0 to ``max_ep_hours`` in hundredths, review date after the acceptance date."""
    errors: list[FieldError] = []
    if plan.focus not in FOCUS_ALLOWED_FOR[subject_kind]:
        errors.append(Fault("focus_not_allowed_for_subject",
                            f"A {subject_kind.value.replace('_', ' ')} referral cannot have a "
                            f"{plan.focus.value.replace('_', ' ')} focus.").at(f"{field}.focus"))
    if not plan.actions:
        errors.append(Fault("missing", "A support plan needs at least one action.")
                      .at(f"{field}.actions"))
    errors.extend(Fault("blank", "An action cannot be blank.").at(f"{field}.actions[{i}]")
                  for i, action in enumerate(plan.actions) if not action.strip())
    hours = plan.ep_hours
    if (not hours.is_finite() or hours < 0 or hours > max_ep_hours
            or hours != hours.quantize(_EP_HOURS_PLACES)):
        errors.append(Fault("ep_hours_range",
                            f"EP hours must be from 0 to {max_ep_hours}, "
                            "with at most two decimal places.").at(f"{field}.ep_hours"))
    if plan.review_on <= accepted_on:
        errors.append(Fault("review_not_after_acceptance",
                            "The review date must be after the acceptance date.")
                      .at(f"{field}.review_on"))
    return errors


# ------------------------------------------------------------------- reasons and outcomes


class ClosureOutcome(StrEnum):
    NEEDS_MET = "needs_met"
    NEEDS_PARTLY_MET = "needs_partly_met"
    ESCALATED_TO_EHCP_ASSESSMENT = "escalated_to_ehcp_assessment"
    PLACEMENT_MADE = "placement_made"
    MOVED_SCHOOL = "moved_school"
    OTHER = "other"


class DeclineReason(StrEnum):
    NOT_ELIGIBLE = "not_eligible"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    MET_BY_UNIVERSAL_OFFER = "met_by_universal_offer"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    DUPLICATE = "duplicate"
    OTHER = "other"


class WithdrawalReason(StrEnum):
    NO_LONGER_NEEDED = "no_longer_needed"
    CHILD_LEFT_SCHOOL = "child_left_school"
    PARENT_REQUEST = "parent_request"
    RAISED_IN_ERROR = "raised_in_error"
    DUPLICATE = "duplicate"
    OTHER = "other"


class WithdrawnBy(StrEnum):
    """Who may withdraw a referral: the school that made it, or a local authority admin."""

    SCHOOL = "school"
    LOCAL_AUTHORITY = "local_authority"


def reason_note_faults(reason: StrEnum, note: str | None, *,
                       field: str = "body.note") -> list[FieldError]:
    """A field error if ``reason`` is ``other`` and ``note`` is missing or blank."""
    if reason.value == "other" and not (note and note.strip()):
        return [Fault("missing", "A note is required when the reason is 'other'.").at(field)]
    return []


# ------------------------------------------------------------------- placement requests


class ProvisionType(StrEnum):
    EIB = "eib"  # Early Intervention Base (SEMH base)
    APC = "apc"  # Alternative Provision Centre (SEMH centre)


class PlacementPriority(StrEnum):
    """How soon a place is needed; placements waitlists by it (urgent first)."""

    URGENT = "urgent"
    HIGH = "high"
    STANDARD = "standard"
