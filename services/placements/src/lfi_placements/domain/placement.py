"""A placement's lifecycle, from the offer of a place to the end of the stay.

    offered ──accept──▶ accepted ──start──▶ active ──end──▶ ended
       │                   │
       ├─decline─▶ declined │
       ├─expire──▶ expired  │
       └─withdraw▶ withdrawn ◀┘

Offered, accepted and active placements hold a place. The planned end never passes the latest
end the provision type's maximum stay allows (counted in terms by the academic calendar).
Every change returns the changed placement and the event it emits; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from lfi_placements.domain.calendar import long_date
from lfi_placements.domain.errors import (
    IllegalTransition,
    OfferExpired,
    OfferStillOpen,
    OverlappingPlacement,
    ProvisionFull,
    ProvisionUnsuitable,
)
from lfi_placements.domain.events import (
    PlacementAccepted,
    PlacementCancelled,
    PlacementEnded,
    PlacementOffered,
    PlacementPlannedEndChanged,
    PlacementStarted,
)
from lfi_placements.domain.provision import Provision
from lfi_placements.domain.request import PlacementRequest
from lfi_placements.domain.stay import StayRule
from lfi_placements.domain.vocabulary import (
    HOLDING_STATUSES,
    CancellationReason,
    EndOutcome,
    ParentalResponsibility,
    PlacementStatus,
    ProvisionKind,
)
from lfi_shared.http.problems import FieldError, InvalidRequest

PLACEMENT_TRANSITIONS: Mapping[PlacementStatus, frozenset[PlacementStatus]] = {
    PlacementStatus.OFFERED: frozenset({PlacementStatus.ACCEPTED, PlacementStatus.DECLINED,
                                        PlacementStatus.WITHDRAWN, PlacementStatus.EXPIRED}),
    PlacementStatus.ACCEPTED: frozenset({PlacementStatus.ACTIVE, PlacementStatus.WITHDRAWN}),
    PlacementStatus.ACTIVE: frozenset({PlacementStatus.ENDED}),
    PlacementStatus.ENDED: frozenset(),
    PlacementStatus.DECLINED: frozenset(),
    PlacementStatus.WITHDRAWN: frozenset(),
    PlacementStatus.EXPIRED: frozenset(),
}
"""Every legal change of a placement's status."""


class OfferPolicy(BaseModel):
    """How long an offer stays open: configuration, not a rule of the domain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    valid_days: int = Field(ge=1)

    def expires_on(self, offered_on: date) -> date:
        """The last day an offer made on ``offered_on`` may be accepted."""
        return offered_on + timedelta(days=self.valid_days)


class ParentalAgreement(BaseModel):
    """Parental agreement to a placement: who gave it (by role, never by name), on what day,
    and which officer recorded it when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_by: ParentalResponsibility
    agreed_on: date
    recorded_by: str = Field(min_length=1, max_length=200)
    recorded_at: AwareDatetime


class Placement(BaseModel):
    """A child's placement at a provision, from offer to end."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    request_id: UUID
    child_id: UUID
    provision_id: UUID
    provision_type: ProvisionKind
    status: PlacementStatus = PlacementStatus.OFFERED
    start_date: date
    planned_end: date
    offered_on: date
    offer_expires_on: date
    agreement: ParentalAgreement | None = None
    started_on: date | None = None
    ended_on: date | None = None
    outcome: EndOutcome | None = None
    cancellation_reason: CancellationReason | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.planned_end < self.start_date:
            raise ValueError("planned_end is before start_date")
        if self.offer_expires_on < self.offered_on:
            raise ValueError("offer_expires_on is before offered_on")
        return self

    @property
    def holds_place(self) -> bool:
        """Whether the placement holds a place from its start to its planned end."""
        return self.status in HOLDING_STATUSES

    def overlaps(self, first: date, last: date) -> bool:
        """Whether the placement holds a place on some day from ``first`` to ``last``."""
        return self.holds_place and self.start_date <= last and first <= self.planned_end

    def accept(self, agreement: ParentalAgreement, *, at: AwareDatetime
               ) -> tuple[Placement, PlacementAccepted]:
        """The offer accepted with parental agreement. Raises :class:`IllegalTransition`, and
        :class:`OfferExpired` if the agreement came after the offer's expiry date."""
        self._ensure_can_become(PlacementStatus.ACCEPTED)
        if agreement.agreed_on > self.offer_expires_on:
            raise OfferExpired(
                f"The offer expired on {long_date(self.offer_expires_on)}; agreement given on "
                f"{long_date(agreement.agreed_on)} is too late. Offer the place again.")
        accepted = self.model_copy(update={"status": PlacementStatus.ACCEPTED,
                                           "agreement": agreement})
        return accepted, PlacementAccepted(
            occurred_at=at, placement_id=self.id, request_id=self.request_id,
            child_id=self.child_id, provision_id=self.provision_id,
            agreed_by=agreement.given_by, agreed_at=agreement.recorded_at,
            recorded_by=agreement.recorded_by,
        )

    def decline(self, *, at: AwareDatetime) -> tuple[Placement, PlacementCancelled]:
        """The offer declined by the parents. Raises :class:`IllegalTransition`."""
        return self._cancelled(CancellationReason.DECLINED, PlacementStatus.DECLINED, at)

    def withdraw(self, *, at: AwareDatetime) -> tuple[Placement, PlacementCancelled]:
        """The offer or accepted placement withdrawn by the council before it started.
        Raises :class:`IllegalTransition`."""
        return self._cancelled(CancellationReason.WITHDRAWN, PlacementStatus.WITHDRAWN, at)

    def expire(self, *, today: date, at: AwareDatetime) -> tuple[Placement, PlacementCancelled]:
        """The unanswered offer closed after its expiry date. Raises
        :class:`IllegalTransition`, and :class:`OfferStillOpen` until the expiry date passes."""
        self._ensure_can_become(PlacementStatus.EXPIRED)
        if today <= self.offer_expires_on:
            raise OfferStillOpen(
                f"The offer is open until {long_date(self.offer_expires_on)}.")
        return self._cancelled(CancellationReason.EXPIRED, PlacementStatus.EXPIRED, at)

    def start(self, on: date, *, at: AwareDatetime) -> tuple[Placement, PlacementStarted]:
        """The placement started on ``on`` (not before the offered start nor after the planned
        end; a later start only shortens the stay). Raises :class:`IllegalTransition` and
        :class:`InvalidRequest` on ``body.started_on``."""
        self._ensure_can_become(PlacementStatus.ACTIVE)
        if on < self.start_date:
            raise _invalid("body.started_on", "before_offered_start",
                           f"The placement cannot start on {long_date(on)}, before the offered "
                           f"start date {long_date(self.start_date)}.")
        if on > self.planned_end:
            raise _invalid("body.started_on", "after_planned_end",
                           f"The placement cannot start on {long_date(on)}, after its planned "
                           f"end {long_date(self.planned_end)}. Change the planned end first.")
        started = self.model_copy(update={"status": PlacementStatus.ACTIVE, "start_date": on,
                                          "started_on": on})
        return started, PlacementStarted(
            occurred_at=at, placement_id=self.id, request_id=self.request_id,
            child_id=self.child_id, provision_id=self.provision_id, started_on=on,
            planned_end=self.planned_end,
        )

    def end(self, on: date, outcome: EndOutcome, *, at: AwareDatetime
            ) -> tuple[Placement, PlacementEnded]:
        """The active placement ended on ``on`` with ``outcome``. Raises
        :class:`IllegalTransition` and :class:`InvalidRequest` on ``body.ended_on``."""
        self._ensure_can_become(PlacementStatus.ENDED)
        if on < self.start_date:
            raise _invalid("body.ended_on", "before_start",
                           f"The placement cannot end on {long_date(on)}, before it started on "
                           f"{long_date(self.start_date)}.")
        ended = self.model_copy(update={"status": PlacementStatus.ENDED, "ended_on": on,
                                        "outcome": outcome})
        return ended, PlacementEnded(
            occurred_at=at, placement_id=self.id, request_id=self.request_id,
            child_id=self.child_id, provision_id=self.provision_id, ended_on=on,
            outcome=outcome,
        )

    def change_planned_end(self, planned_end: date, *, stay: StayRule, free_places: int,
                           child_placements: Iterable[Placement], at: AwareDatetime
                           ) -> tuple[Placement, PlacementPlannedEndChanged | None]:
        """The placement with a new planned end (an extension or a shortening), and the event,
        or ``None`` if nothing changed.

        ``free_places`` is the provision's free places on every day the extension adds, counted
        without this placement; ``child_placements`` the child's placements (this one is
        ignored). Raises :class:`IllegalTransition` unless the placement holds a place,
        :class:`PlannedEndInvalid` beyond the maximum stay or before the start,
        :class:`OverlappingPlacement` when the extension runs into the child's next placement,
        and :class:`ProvisionFull` when an extension finds no place free.
        """
        if not self.holds_place:
            raise IllegalTransition(
                f"The planned end of a {self.status.value} placement cannot change.",
                extra={"current_status": self.status.value})
        stay.check_planned_end(self.start_date, planned_end)
        if planned_end == self.planned_end:
            return self, None
        if planned_end > self.planned_end:
            ensure_no_overlap(child_placements, self.planned_end + timedelta(days=1),
                              planned_end, ignoring=self.id)
        if planned_end > self.planned_end and free_places <= 0:
            raise ProvisionFull(
                f"No place is free from {long_date(self.planned_end + timedelta(days=1))} to "
                f"{long_date(planned_end)} to extend the placement.")
        changed = self.model_copy(update={"planned_end": planned_end})
        return changed, PlacementPlannedEndChanged(
            occurred_at=at, placement_id=self.id, child_id=self.child_id,
            provision_id=self.provision_id, previous_planned_end=self.planned_end,
            planned_end=planned_end,
        )

    def _cancelled(self, reason: CancellationReason, status: PlacementStatus,
                   at: AwareDatetime) -> tuple[Placement, PlacementCancelled]:
        self._ensure_can_become(status)
        cancelled = self.model_copy(update={"status": status, "cancellation_reason": reason})
        return cancelled, PlacementCancelled(
            occurred_at=at, placement_id=self.id, request_id=self.request_id,
            child_id=self.child_id, provision_id=self.provision_id, reason=reason,
        )

    def _ensure_can_become(self, status: PlacementStatus) -> None:
        if status not in PLACEMENT_TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"A placement that is {self.status.value} cannot become {status.value}.",
                extra={"current_status": self.status.value, "requested_status": status.value},
            )


@dataclass(frozen=True)
class Offer:
    """The outcome of offering a place: the new placement, the request and the event."""

    placement: Placement
    request: PlacementRequest
    event: PlacementOffered


def ensure_no_overlap(child_placements: Iterable[Placement], first: date, last: date,
                      *, ignoring: UUID | None = None) -> None:
    """Raises :class:`OverlappingPlacement` if one of the child's placements (other than
    ``ignoring``) holds a place on some day from ``first`` to ``last``."""
    for other in child_placements:
        if other.id != ignoring and other.overlaps(first, last):
            raise OverlappingPlacement(
                f"The child already holds a {other.status.value} placement from "
                f"{long_date(other.start_date)} to {long_date(other.planned_end)}.",
                extra={"placement_id": str(other.id)})


def offer_place(*, placement_id: UUID, request: PlacementRequest, provision: Provision,
                stay: StayRule, free_places: int, child_placements: Iterable[Placement],
                policy: OfferPolicy, today: date, at: AwareDatetime,
                start_date: date | None = None, planned_end: date | None = None) -> Offer:
    """Offer ``request`` a place at ``provision``.

    The start defaults to the requested start, the planned end to the latest end the stay
    allows. ``free_places`` is the provision's free places on every day of that stay and
    ``child_placements`` the child's other placements.

    Raises :class:`IllegalTransition` (request not waiting), :class:`InvalidRequest` (start in
    the past), :class:`ProvisionUnsuitable`, :class:`PlannedEndInvalid`,
    :class:`CalendarIncomplete`, :class:`OverlappingPlacement` and :class:`ProvisionFull`.
    """
    offered_request = request.mark_offered()
    start = start_date or request.requested_start
    if start < today:
        raise _invalid("body.start_date", "in_the_past",
                       f"A placement cannot be offered to start on {long_date(start)}, "
                       "a day already past.")
    _ensure_suitable(request, provision, stay, start)
    end = planned_end or stay.latest_end(start)
    stay.check_planned_end(start, end)
    if not provision.accepts_placements_on(end):
        raise ProvisionUnsuitable(
            f"{provision.name} closes before {long_date(end)}; choose an earlier planned end.")
    ensure_no_overlap(child_placements, start, end)
    if free_places <= 0:
        raise ProvisionFull(
            f"{provision.name} has no place free on every day from {long_date(start)} to "
            f"{long_date(end)}.", extra={"provision_id": str(provision.id)})
    placement = Placement(
        id=placement_id, request_id=request.id, child_id=request.child_id,
        provision_id=provision.id, provision_type=provision.provision_type,
        start_date=start, planned_end=end, offered_on=today,
        offer_expires_on=policy.expires_on(today),
    )
    event = PlacementOffered(
        occurred_at=at, placement_id=placement.id, request_id=request.id,
        child_id=request.child_id, provision_id=provision.id,
        provision_type=provision.provision_type, start_date=start, planned_end=end,
        offer_expires_on=placement.offer_expires_on,
    )
    return Offer(placement=placement, request=offered_request, event=event)


def _ensure_suitable(request: PlacementRequest, provision: Provision, stay: StayRule,
                     start: date) -> None:
    if not (request.provision_type == provision.provision_type == stay.provision_type.code):
        raise ProvisionUnsuitable(
            f"{provision.name} is a {provision.provision_type.value} provision; the request is "
            f"for a {request.provision_type.value} placement.")
    if not provision.serves(request.year_group):
        raise ProvisionUnsuitable(
            f"{provision.name} does not take children in year {request.year_group.value}.")
    if not provision.accepts_placements_on(start):
        raise ProvisionUnsuitable(
            f"{provision.name} does not take placements on {long_date(start)} (it opens on "
            f"{long_date(provision.opening_date)}"
            + (f" and closes on {long_date(provision.closed_on)})." if provision.closed_on
               else ")."))


def _invalid(field: str, code: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, errors=[FieldError(field=field, message=message, code=code)])
