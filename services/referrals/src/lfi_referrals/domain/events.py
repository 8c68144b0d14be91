"""Domain events the referral's transitions produce, for the service to write to its outbox.

Plain data with no personal data: a child appears only as the opaque ``child_id``; free text
(concerns, notes, plan actions) never appears, only codes. ``name`` is the event's
``<aggregate>.<event>`` part; the messaging layer maps each to its versioned contract
(``lfi.referrals.referral.submitted.v1`` ...).

Drafting and amending a draft produce no event: a draft is the school's own until submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from lfi_referrals.domain.census import NcYear, SenPrimaryNeed, SenProvision
from lfi_referrals.domain.subjects import SubjectKind
from lfi_referrals.domain.support import (
    ClosureOutcome,
    DeclineReason,
    PlacementPriority,
    ProvisionType,
    SupportFocus,
    SupportLevel,
    SupportRequest,
    WithdrawalReason,
    WithdrawnBy,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralEvent:
    """What every referral event carries: which referral, and when it happened."""

    name: ClassVar[str]
    referral_id: UUID
    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralSubmitted(ReferralEvent):
    name: ClassVar[str] = "referral.submitted"
    school_urn: str
    zone_id: UUID
    subject_kind: SubjectKind
    child_id: UUID | None
    support_requested: tuple[SupportRequest, ...]
    triage_due_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralTriaged(ReferralEvent):
    name: ClassVar[str] = "referral.triaged"
    practitioner_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralAccepted(ReferralEvent):
    name: ClassVar[str] = "referral.accepted"
    school_urn: str
    zone_id: UUID
    subject_kind: SubjectKind
    child_id: UUID | None
    support_level: SupportLevel
    support_focus: SupportFocus
    practitioner_id: UUID
    ep_hours: Decimal
    review_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralSupportStarted(ReferralEvent):
    name: ClassVar[str] = "referral.support_started"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralClosed(ReferralEvent):
    name: ClassVar[str] = "referral.closed"
    outcome: ClosureOutcome


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralDeclined(ReferralEvent):
    name: ClassVar[str] = "referral.declined"
    reason: DeclineReason


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralWithdrawn(ReferralEvent):
    name: ClassVar[str] = "referral.withdrawn"
    reason: WithdrawalReason
    withdrawn_by: WithdrawnBy


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralPlacementRequested(ReferralEvent):
    """TAS asks placements for an EIB or APC place (journey step 3)."""

    name: ClassVar[str] = "referral.placement_requested"
    request_id: UUID
    child_id: UUID
    school_urn: str
    zone_id: UUID
    year_group: NcYear
    sen_provision: SenProvision
    needs: tuple[SenPrimaryNeed, ...]
    provision_type: ProvisionType
    priority: PlacementPriority


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralElement3ReviewRequested(ReferralEvent):
    """TAS recommends Element 3 cohort or whole-school funding (journey step 6)."""

    name: ClassVar[str] = "referral.element3_review_requested"
    request_id: UUID
    school_urn: str
    zone_id: UUID
    subject_kind: SubjectKind
