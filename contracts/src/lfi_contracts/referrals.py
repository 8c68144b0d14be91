"""Events published by the referrals service (``lfi.referrals.*``).

No event carries a child's name, date of birth or UPN: a child is the opaque ``child_id``.
The journey's correlation id is the referral's own id, and every service that acts on a
referral's request passes it on.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID, uuid5

from pydantic import Field

from lfi_shared.messaging import EventContract

SubjectKind = Literal["child", "cohort", "whole_school"]
ProvisionKind = Literal["eib", "apc"]
PlacementPriority = Literal["at_risk_of_permanent_exclusion", "high", "standard"]


class ZoneCreated(EventContract):
    event_type: ClassVar[str] = "lfi.referrals.zone.created.v1"
    zone_id: UUID
    code: str
    name: str


class ZoneRenamed(EventContract):
    event_type: ClassVar[str] = "lfi.referrals.zone.renamed.v1"
    zone_id: UUID
    code: str
    name: str


class SchoolRegistered(EventContract):
    """A school entered the register (import or by hand); schools are not personal data."""

    event_type: ClassVar[str] = "lfi.referrals.school.registered.v1"
    urn: str
    laestab: str | None = None
    name: str
    phase: str | None = None
    establishment_type: str | None = None
    status: str | None = None
    postcode: str | None = None
    zone_id: UUID | None = None
    number_of_pupils: int | None = None


class SchoolUpdated(EventContract):
    """A school's register entry or zone changed; carries the whole current entry."""

    event_type: ClassVar[str] = "lfi.referrals.school.updated.v1"
    urn: str
    laestab: str | None = None
    name: str
    phase: str | None = None
    establishment_type: str | None = None
    status: str | None = None
    postcode: str | None = None
    zone_id: UUID | None = None
    number_of_pupils: int | None = None


class _ReferralEvent(EventContract):
    referral_id: UUID
    school_urn: str
    zone_id: UUID | None = None
    subject_kind: SubjectKind
    child_id: UUID | None = None


class ReferralSubmitted(_ReferralEvent):
    event_type: ClassVar[str] = "lfi.referrals.referral.submitted.v1"
    support_requested: list[str] = Field(default_factory=list)
    submitted_at: datetime
    triage_due_on: date | None = None


class ReferralTriaged(_ReferralEvent):
    event_type: ClassVar[str] = "lfi.referrals.referral.triaged.v1"
    triaged_at: datetime
    practitioner_id: str | None = None


class ReferralAccepted(_ReferralEvent):
    event_type: ClassVar[str] = "lfi.referrals.referral.accepted.v1"
    accepted_at: datetime
    support_level: Literal["universal", "targeted", "enhanced"]
    support_focus: SubjectKind
    ep_hours: str = Field(description="Educational Psychologist hours, a decimal string")
    review_on: date


class ReferralSupportStarted(_ReferralEvent):
    event_type: ClassVar[str] = "lfi.referrals.referral.support_started.v1"
    started_at: datetime


class ReferralClosed(_ReferralEvent):
    event_type: ClassVar[str] = "lfi.referrals.referral.closed.v1"
    closed_at: datetime
    outcome: str


class ReferralDeclined(_ReferralEvent):
    event_type: ClassVar[str] = "lfi.referrals.referral.declined.v1"
    declined_at: datetime
    reason: str


class ReferralWithdrawn(_ReferralEvent):
    event_type: ClassVar[str] = "lfi.referrals.referral.withdrawn.v1"
    withdrawn_at: datetime
    reason: str


class ReferralPlacementRequested(EventContract):
    """TAS asks for an EIB or APC place for a child (DESIGN §3 step 3): no names."""

    event_type: ClassVar[str] = "lfi.referrals.referral.placement_requested.v1"
    referral_id: UUID
    request_id: UUID = Field(description="Idempotency of the request itself")
    child_id: UUID
    home_school_urn: str
    zone_id: UUID | None = None
    year_group: str
    primary_need: str | None = None
    needs: list[str] = Field(default_factory=list)
    provision_type: ProvisionKind
    priority: PlacementPriority
    requested_start: date
    requested_at: datetime


class ReferralElement3ReviewRequested(EventContract):
    """TAS recommends Element 3 cohort or whole-school funding for the school."""

    event_type: ClassVar[str] = "lfi.referrals.referral.element3_review_requested.v1"
    referral_id: UUID
    request_id: UUID
    school_urn: str
    zone_id: UUID | None = None
    subject_kind: Literal["cohort", "whole_school"]
    cohort_size: int | None = None
    year_groups: list[str] = Field(default_factory=list)
    needs_profile: dict[str, int] = Field(
        default_factory=dict, description="Primary need code → number of pupils")
    focus: str | None = None
    amount_requested: str | None = Field(default=None, description="Pounds, e.g. '12500.00'")
    requested_at: datetime


SEEDED_ZONE_NAMESPACE = UUID("5b0f7c3e-2a55-4c1e-9a53-6d1c1f0b7a10")


def seeded_zone_id(code: str) -> UUID:
    """The well-known id of a zone created from seed data, derived from its code.

    Every service's seed data (provisions in a zone, for example) refers to the same zones
    before any ``ZoneCreated`` event has reached it; a zone an administrator adds later gets
    a random id and is known to the other services through its events alone.
    """
    return uuid5(SEEDED_ZONE_NAMESPACE, f"zone:{code}")
