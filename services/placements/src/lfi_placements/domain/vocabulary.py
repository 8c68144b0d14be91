"""The closed vocabularies of the placements domain: types, statuses, priorities, outcomes.

Kept apart from the models so that every module can name them without importing the others.
The ranks and limits attached to them (priority order, maximum stay) are data, given elsewhere.
"""

from __future__ import annotations

from enum import StrEnum


class ProvisionKind(StrEnum):
    """A type of provision; its maximum stay is data (:class:`ProvisionType`)."""

    EIB = "eib"  # Early Intervention Base (SEMH base)
    APC = "apc"  # Alternative Provision Centre (SEMH centre)


class ProvisionStatus(StrEnum):
    """The officer's record of where a provision stands."""

    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class Priority(StrEnum):
    """How urgently TAS asks for a placement."""

    AT_RISK_OF_PERMANENT_EXCLUSION = "at_risk_of_permanent_exclusion"
    HIGH = "high"
    STANDARD = "standard"


class RequestStatus(StrEnum):
    """Where a placement request stands."""

    RECEIVED = "received"    # not yet matched
    WAITING = "waiting"      # on the waiting list
    OFFERED = "offered"      # an offer is open
    PLACED = "placed"        # the offer was accepted
    CANCELLED = "cancelled"  # closed without a placement


class PlacementStatus(StrEnum):
    """Where a placement (from offer to end) stands."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    ACTIVE = "active"
    ENDED = "ended"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


HOLDING_STATUSES: frozenset[PlacementStatus] = frozenset(
    {PlacementStatus.OFFERED, PlacementStatus.ACCEPTED, PlacementStatus.ACTIVE}
)
"""The statuses in which a placement holds a place at its provision."""


class CancellationReason(StrEnum):
    """Why a placement closed before it started."""

    DECLINED = "declined"    # the parents did not agree
    WITHDRAWN = "withdrawn"  # the council withdrew the offer or placement
    EXPIRED = "expired"      # nobody answered the offer in time


class EndOutcome(StrEnum):
    """Where the child went when the placement ended."""

    RETURNED_TO_HOME_SCHOOL = "returned_to_home_school"
    NEW_MAINSTREAM_SCHOOL = "new_mainstream_school"
    SPECIALIST_PROVISION = "specialist_provision"
    POST_16 = "post_16"
    OTHER = "other"


class ParentalResponsibility(StrEnum):
    """Who gave parental agreement (recorded by role, never by name)."""

    PARENT = "parent"
    CARER = "carer"
    CORPORATE_PARENT = "corporate_parent"  # the local authority, for a child in its care
