"""Events published by the placements service (``lfi.placements.*``).

A child is the opaque ``child_id``. Events about a request that came from a referral carry
its ``referral_id`` (and the referral's correlation id in the envelope).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from lfi_shared.messaging import EventContract

ProvisionKind = Literal["eib", "apc"]
EndOutcome = Literal[
    "returned_to_home_school", "new_mainstream_school", "specialist_provision", "post_16", "other"
]


class PlacementRequestReceived(EventContract):
    event_type: ClassVar[str] = "lfi.placements.request.received.v1"
    request_id: UUID
    referral_id: UUID | None = None
    child_id: UUID
    provision_type: ProvisionKind
    priority: str
    home_school_urn: str
    requested_start: date
    received_at: datetime


class PlacementWaitlisted(EventContract):
    event_type: ClassVar[str] = "lfi.placements.request.waitlisted.v1"
    request_id: UUID
    referral_id: UUID | None = None
    child_id: UUID
    provision_type: ProvisionKind
    priority: str
    waitlisted_at: datetime
    position: int | None = None


class PlacementRequestCancelled(EventContract):
    event_type: ClassVar[str] = "lfi.placements.request.cancelled.v1"
    request_id: UUID
    referral_id: UUID | None = None
    child_id: UUID
    reason: str
    cancelled_at: datetime


class _PlacementEvent(EventContract):
    placement_id: UUID
    request_id: UUID
    referral_id: UUID | None = None
    child_id: UUID
    provision_id: UUID
    provision_type: ProvisionKind
    home_school_urn: str


class PlacementOffered(_PlacementEvent):
    event_type: ClassVar[str] = "lfi.placements.placement.offered.v1"
    start_on: date
    planned_end_on: date
    offer_expires_on: date
    offered_at: datetime


class PlacementAccepted(_PlacementEvent):
    event_type: ClassVar[str] = "lfi.placements.placement.accepted.v1"
    accepted_at: datetime


class PlacementStarted(_PlacementEvent):
    event_type: ClassVar[str] = "lfi.placements.placement.started.v1"
    started_on: date
    planned_end_on: date


class PlacementEnded(_PlacementEvent):
    event_type: ClassVar[str] = "lfi.placements.placement.ended.v1"
    ended_on: date
    outcome: EndOutcome


class PlacementCancelled(_PlacementEvent):
    """An offer declined, withdrawn or expired: its place is free again."""

    event_type: ClassVar[str] = "lfi.placements.placement.cancelled.v1"
    reason: Literal["declined", "withdrawn", "expired"]
    cancelled_at: datetime


class ProvisionCapacityChanged(EventContract):
    event_type: ClassVar[str] = "lfi.placements.provision.capacity_changed.v1"
    provision_id: UUID
    provision_type: ProvisionKind
    previous_capacity: int
    capacity: int
    changed_at: datetime


class PlacementPlannedEndChanged(_PlacementEvent):
    """An accepted or active placement's planned end moved (an extension or a shortening),
    never past the provision type's maximum stay."""

    event_type: ClassVar[str] = "lfi.placements.placement.planned_end_changed.v1"
    previous_planned_end_on: date
    planned_end_on: date
    changed_at: datetime
