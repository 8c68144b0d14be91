"""Domain events: plain, immutable records of what happened, returned by the domain's changes.

They are not the published contracts: the service writes each one to the outbox as its
versioned ``lfi.placements.<aggregate>.<event>.vN`` contract (``name`` gives the
``<aggregate>.<event>`` part). They carry only an opaque ``child_id``, never personal data.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from lfi_placements.domain.identifiers import URN, PrimaryNeed, YearGroup, ZoneId
from lfi_placements.domain.vocabulary import (
    CancellationReason,
    EndOutcome,
    ParentalResponsibility,
    Priority,
    ProvisionKind,
)


class DomainEvent(BaseModel):
    """Base of every placements domain event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str]
    occurred_at: AwareDatetime


class PlacementRequestReceived(DomainEvent):
    """TAS asked for a placement for a child."""

    name: ClassVar[str] = "request.received"
    request_id: UUID
    child_id: UUID
    home_school_urn: URN
    zone_id: ZoneId
    year_group: YearGroup
    needs: tuple[PrimaryNeed, ...]
    provision_type: ProvisionKind
    priority: Priority
    requested_start: date


class PlacementWaitlisted(DomainEvent):
    """No suitable place was free: the request waits (again) on the waiting list."""

    name: ClassVar[str] = "placement.waitlisted"
    request_id: UUID
    child_id: UUID
    provision_type: ProvisionKind
    priority: Priority


class PlacementRequestCancelled(DomainEvent):
    """A request left the waiting list without a placement (withdrawn, or parents declined)."""

    name: ClassVar[str] = "request.cancelled"
    request_id: UUID
    child_id: UUID
    reason: str


class PlacementOffered(DomainEvent):
    """A place was offered at a provision; it holds the place until accepted or closed."""

    name: ClassVar[str] = "placement.offered"
    placement_id: UUID
    request_id: UUID
    child_id: UUID
    provision_id: UUID
    provision_type: ProvisionKind
    start_date: date
    planned_end: date
    offer_expires_on: date


class PlacementAccepted(DomainEvent):
    """Parental agreement to the offer was recorded."""

    name: ClassVar[str] = "placement.accepted"
    placement_id: UUID
    request_id: UUID
    child_id: UUID
    provision_id: UUID
    agreed_by: ParentalResponsibility
    agreed_at: AwareDatetime
    recorded_by: str


class PlacementStarted(DomainEvent):
    """The child started at the provision."""

    name: ClassVar[str] = "placement.started"
    placement_id: UUID
    request_id: UUID
    child_id: UUID
    provision_id: UUID
    started_on: date
    planned_end: date


class PlacementPlannedEndChanged(DomainEvent):
    """The planned end of an accepted or active placement moved (an extension or shortening)."""

    name: ClassVar[str] = "placement.planned_end_changed"
    placement_id: UUID
    child_id: UUID
    provision_id: UUID
    previous_planned_end: date
    planned_end: date


class PlacementEnded(DomainEvent):
    """The placement ended with an outcome; its place is free from the next day."""

    name: ClassVar[str] = "placement.ended"
    placement_id: UUID
    request_id: UUID
    child_id: UUID
    provision_id: UUID
    ended_on: date
    outcome: EndOutcome


class PlacementCancelled(DomainEvent):
    """An offer or accepted placement closed before it started (declined, withdrawn, expired)."""

    name: ClassVar[str] = "placement.cancelled"
    placement_id: UUID
    request_id: UUID
    child_id: UUID
    provision_id: UUID
    reason: CancellationReason


class ProvisionCapacityChanged(DomainEvent):
    """A provision's number of places changed."""

    name: ClassVar[str] = "provision.capacity_changed"
    provision_id: UUID
    provision_type: ProvisionKind
    zone_id: ZoneId
    previous_capacity: int
    capacity: int


PlacementEvent = (PlacementOffered | PlacementAccepted | PlacementStarted
                  | PlacementPlannedEndChanged | PlacementEnded | PlacementCancelled)
"""The events a placement's own changes emit."""

RequestEvent = PlacementRequestReceived | PlacementWaitlisted | PlacementRequestCancelled
"""The events a placement request's changes emit."""
