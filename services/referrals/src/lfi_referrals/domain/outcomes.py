"""What a referral shows of its placement and funding outcomes (journey step 7).

Placements and funding publish outcome events; the referrals service applies each one to the
referral's *shown* placement and funding with :func:`apply_outcome`. Events may arrive twice or
out of order, so the rule is order-aware and idempotent:

* an outcome replaces what is shown only if it is *newer*: later by event time, then (at the same
  instant) further along its lifecycle, then by event id so that every arrival order gives the
  same result;
* applying the same event again is therefore never newer, and changes nothing;
* an older outcome than the one shown is ignored.

Decisions where the design is silent: time order trusts the producers' clocks; the newest
outcome is shown as it stands (an outcome repeats the details it still means, e.g. the provision
on ``started``), so the result never depends on what happened to arrive before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from lfi_referrals.domain.policy import require_aware


class PlacementStatus(StrEnum):
    REQUESTED = "requested"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    ACCEPTED = "accepted"  # the parents accepted the offer; the placement has not started
    STARTED = "started"
    ENDED = "ended"
    CANCELLED = "cancelled"  # the request withdrawn, or the offer refused or lapsed


class PlacementEndReason(StrEnum):
    RETURNED_TO_HOME_SCHOOL = "returned_to_home_school"
    MOVED_TO_NEW_SCHOOL = "moved_to_new_school"
    SPECIALIST_PROVISION = "specialist_provision"
    POST16_DESTINATION = "post16_destination"
    OTHER = "other"


class FundingStatus(StrEnum):
    REQUESTED = "requested"
    APPLICATION_OPENED = "application_opened"
    APPROVED = "approved"
    PART_APPROVED = "part_approved"
    DECLINED = "declined"


_PLACEMENT_STAGE = {
    PlacementStatus.REQUESTED: 0, PlacementStatus.WAITLISTED: 1, PlacementStatus.OFFERED: 2,
    PlacementStatus.ACCEPTED: 3, PlacementStatus.STARTED: 4, PlacementStatus.ENDED: 5,
    PlacementStatus.CANCELLED: 5,
}
_FUNDING_STAGE = {
    FundingStatus.REQUESTED: 0, FundingStatus.APPLICATION_OPENED: 1, FundingStatus.APPROVED: 2,
    FundingStatus.PART_APPROVED: 2, FundingStatus.DECLINED: 2,
}
_AWARDED = frozenset({FundingStatus.APPROVED, FundingStatus.PART_APPROVED})

OPEN_PLACEMENT_STATUSES: frozenset[PlacementStatus] = frozenset(
    {PlacementStatus.REQUESTED, PlacementStatus.WAITLISTED, PlacementStatus.OFFERED,
     PlacementStatus.ACCEPTED, PlacementStatus.STARTED})
"""While shown, another placement cannot be requested."""

PENDING_FUNDING_STATUSES: frozenset[FundingStatus] = frozenset(
    {FundingStatus.REQUESTED, FundingStatus.APPLICATION_OPENED})
"""While shown, another Element 3 review cannot be requested."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacementOutcome:
    """A placement event about one of the referral's placement requests.

    Raises:
        ValueError: (on construction) for a naive time or the ``requested`` status, which only
            the referral itself shows.
    """

    event_id: UUID
    occurred_at: datetime
    request_id: UUID
    status: PlacementStatus
    provision_id: UUID | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    end_reason: PlacementEndReason | None = None

    def __post_init__(self) -> None:
        require_aware(self.occurred_at)
        if self.status is PlacementStatus.REQUESTED:
            raise ValueError("'requested' is not a placement outcome")


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingOutcome:
    """A funding event about the Element 3 application opened from the referral.

    Raises:
        ValueError: (on construction) for a naive time, the ``requested`` status, an award
            without a non-negative amount in pence, or an amount on a status that awards none.
    """

    event_id: UUID
    occurred_at: datetime
    application_id: UUID
    status: FundingStatus
    awarded_pence: int | None = None

    def __post_init__(self) -> None:
        require_aware(self.occurred_at)
        if self.status is FundingStatus.REQUESTED:
            raise ValueError("'requested' is not a funding outcome")
        if self.status in _AWARDED:
            if self.awarded_pence is None or self.awarded_pence < 0:
                raise ValueError("an award needs an amount in pence, zero or more")
        elif self.awarded_pence is not None:
            raise ValueError(f"a funding outcome '{self.status.value}' awards no amount")


Outcome = PlacementOutcome | FundingOutcome


@dataclass(frozen=True, slots=True, kw_only=True)
class ShownPlacement:
    status: PlacementStatus
    request_id: UUID
    provision_id: UUID | None
    starts_on: date | None
    ends_on: date | None
    end_reason: PlacementEndReason | None
    as_of: datetime
    source_event_id: UUID | None  # None while only the referral's own request is shown


@dataclass(frozen=True, slots=True, kw_only=True)
class ShownFunding:
    status: FundingStatus
    request_id: UUID | None
    application_id: UUID | None
    awarded_pence: int | None
    as_of: datetime
    source_event_id: UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShownOutcomes:
    """The placement and funding outcome a referral shows (``None``: nothing requested yet)."""

    placement: ShownPlacement | None = None
    funding: ShownFunding | None = None


def _order(as_of: datetime, stage: int, event_id: UUID | None) -> tuple[datetime, int, str]:
    return as_of, stage, str(event_id) if event_id else ""


def _placement_order(shown: ShownPlacement) -> tuple[datetime, int, str]:
    return _order(shown.as_of, _PLACEMENT_STAGE[shown.status], shown.source_event_id)


def _funding_order(shown: ShownFunding) -> tuple[datetime, int, str]:
    return _order(shown.as_of, _FUNDING_STAGE[shown.status], shown.source_event_id)


def _shown_placement(outcome: PlacementOutcome) -> ShownPlacement:
    return ShownPlacement(
        status=outcome.status,
        request_id=outcome.request_id,
        provision_id=outcome.provision_id,
        starts_on=outcome.starts_on,
        ends_on=outcome.ends_on,
        end_reason=outcome.end_reason,
        as_of=outcome.occurred_at,
        source_event_id=outcome.event_id,
    )


def _apply_funding(current: ShownFunding | None, outcome: FundingOutcome) -> ShownFunding:
    return ShownFunding(
        status=outcome.status,
        request_id=current.request_id if current is not None else None,
        application_id=outcome.application_id,
        awarded_pence=outcome.awarded_pence,
        as_of=outcome.occurred_at,
        source_event_id=outcome.event_id,
    )


def apply_outcome(shown: ShownOutcomes, outcome: Outcome) -> ShownOutcomes:
    """``shown`` with ``outcome`` applied if it is newer than what is shown; otherwise
    ``shown`` unchanged (a repeated or older event)."""
    if isinstance(outcome, PlacementOutcome):
        candidate = _shown_placement(outcome)
        if shown.placement is not None and \
                _placement_order(candidate) <= _placement_order(shown.placement):
            return shown
        return replace(shown, placement=candidate)
    funding = _apply_funding(shown.funding, outcome)
    if shown.funding is not None and _funding_order(funding) <= _funding_order(shown.funding):
        return shown
    return replace(shown, funding=funding)


def show_placement_requested(shown: ShownOutcomes, *, request_id: UUID,
                             at: datetime) -> ShownOutcomes:
    """``shown`` with a new placement request made at ``at`` shown as ``requested``.

    Raises:
        ValueError: if ``at`` has no UTC offset.
    """
    require_aware(at)
    return replace(shown, placement=ShownPlacement(
        status=PlacementStatus.REQUESTED, request_id=request_id, provision_id=None,
        starts_on=None, ends_on=None, end_reason=None, as_of=at, source_event_id=None))


def show_element3_review_requested(shown: ShownOutcomes, *, request_id: UUID,
                                   at: datetime) -> ShownOutcomes:
    """``shown`` with a new Element 3 review request made at ``at`` shown as ``requested``.

    Raises:
        ValueError: if ``at`` has no UTC offset.
    """
    require_aware(at)
    return replace(shown, funding=ShownFunding(
        status=FundingStatus.REQUESTED, request_id=request_id, application_id=None,
        awarded_pence=None, as_of=at, source_event_id=None))


def placement_is_open(shown: ShownOutcomes) -> bool:
    """Whether a placement request is still open (requested, waitlisted, offered or started)."""
    return shown.placement is not None and shown.placement.status in OPEN_PLACEMENT_STATUSES


def funding_is_pending(shown: ShownOutcomes) -> bool:
    """Whether an Element 3 review is requested and not yet decided."""
    return shown.funding is not None and shown.funding.status in PENDING_FUNDING_STATUSES
