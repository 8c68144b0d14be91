"""Placement requests from TAS, their lifecycle, and the waiting-list order.

A request is received, then either offered a place or put on the waiting list. If an offer is
declined by the parents the request closes; if the offer expires or the council withdraws it,
the request goes back on the waiting list keeping its original request time, so the child does
not lose their turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from lfi_placements.domain.errors import IllegalTransition
from lfi_placements.domain.events import (
    PlacementRequestCancelled,
    PlacementRequestReceived,
    PlacementWaitlisted,
)
from lfi_placements.domain.identifiers import URN, PrimaryNeed, YearGroup, ZoneId
from lfi_placements.domain.vocabulary import (
    CancellationReason,
    Priority,
    ProvisionKind,
    RequestStatus,
)

PRIORITY_ORDER: tuple[Priority, ...] = (
    Priority.AT_RISK_OF_PERMANENT_EXCLUSION,
    Priority.HIGH,
    Priority.STANDARD,
)
"""Waiting-list order of priorities, most urgent first."""

REQUEST_TRANSITIONS: Mapping[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.RECEIVED: frozenset(
        {RequestStatus.WAITING, RequestStatus.OFFERED, RequestStatus.CANCELLED}),
    RequestStatus.WAITING: frozenset({RequestStatus.OFFERED, RequestStatus.CANCELLED}),
    RequestStatus.OFFERED: frozenset(
        {RequestStatus.PLACED, RequestStatus.WAITING, RequestStatus.CANCELLED}),
    # An accepted placement withdrawn before it starts puts the request back.
    RequestStatus.PLACED: frozenset({RequestStatus.WAITING, RequestStatus.CANCELLED}),
    RequestStatus.CANCELLED: frozenset(),
}
"""Every legal change of a request's status."""


class PlacementRequest(BaseModel):
    """TAS's request for a placement for a child (identified only by ``child_id``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    referral_id: UUID | None = None
    child_id: UUID
    home_school_urn: URN
    zone_id: ZoneId
    year_group: YearGroup
    needs: tuple[PrimaryNeed, ...] = ()
    provision_type: ProvisionKind
    priority: Priority
    requested_start: date
    requested_at: AwareDatetime
    status: RequestStatus = RequestStatus.RECEIVED

    def received(self) -> PlacementRequestReceived:
        """The event recording the request's arrival."""
        return PlacementRequestReceived(
            occurred_at=self.requested_at, request_id=self.id, child_id=self.child_id,
            home_school_urn=self.home_school_urn, zone_id=self.zone_id,
            year_group=self.year_group, needs=self.needs, provision_type=self.provision_type,
            priority=self.priority, requested_start=self.requested_start,
        )

    def waitlist(self, at: AwareDatetime) -> tuple[PlacementRequest, PlacementWaitlisted]:
        """The request on the waiting list. Raises :class:`IllegalTransition`."""
        waiting = self._moved_to(RequestStatus.WAITING)
        return waiting, PlacementWaitlisted(
            occurred_at=at, request_id=self.id, child_id=self.child_id,
            provision_type=self.provision_type, priority=self.priority,
        )

    def mark_offered(self) -> PlacementRequest:
        """The request with an open offer (the offer emits the event). Raises
        :class:`IllegalTransition`."""
        return self._moved_to(RequestStatus.OFFERED)

    def mark_placed(self) -> PlacementRequest:
        """The request whose offer was accepted. Raises :class:`IllegalTransition`."""
        return self._moved_to(RequestStatus.PLACED)

    def cancel(self, reason: str, at: AwareDatetime
               ) -> tuple[PlacementRequest, PlacementRequestCancelled]:
        """The request closed without a placement. Raises :class:`IllegalTransition`."""
        cancelled = self._moved_to(RequestStatus.CANCELLED)
        return cancelled, PlacementRequestCancelled(
            occurred_at=at, request_id=self.id, child_id=self.child_id, reason=reason)

    def after_offer_closed(self, reason: CancellationReason, at: AwareDatetime
                           ) -> tuple[PlacementRequest,
                                      PlacementWaitlisted | PlacementRequestCancelled]:
        """The request once its offer closed: cancelled if the parents declined, otherwise back
        on the waiting list with its original request time."""
        if reason is CancellationReason.DECLINED:
            return self.cancel("declined", at)
        return self.waitlist(at)

    def _moved_to(self, status: RequestStatus) -> PlacementRequest:
        if status not in REQUEST_TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"A placement request that is {self.status.value} cannot become "
                f"{status.value}.",
                extra={"current_status": self.status.value, "requested_status": status.value},
            )
        return self.model_copy(update={"status": status})


def waiting_list_key(request: PlacementRequest,
                     priority_order: Sequence[Priority] = PRIORITY_ORDER
                     ) -> tuple[int, datetime, UUID]:
    """Sort key of the waiting list: priority (most urgent first), then time of request,
    then id, so that the order is total and stable."""
    return priority_order.index(request.priority), request.requested_at, request.id


def waiting_list(requests: Iterable[PlacementRequest]) -> list[PlacementRequest]:
    """The waiting requests in waiting-list order."""
    return sorted((r for r in requests if r.status is RequestStatus.WAITING),
                  key=waiting_list_key)
