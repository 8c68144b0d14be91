"""Loading and saving the placements aggregates: rows ⇄ domain models. Flush, never commit."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from uuid import UUID

from sqlalchemy import (
    Date,
    DateTime,
    Integer,
    and_,
    any_,
    bindparam,
    case,
    event,
    func,
    literal,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from lfi_placements.db.models import (
    AcademicTerm,
    PlacementRequestRow,
    PlacementRow,
    ProvisionRow,
    ProvisionTypeRow,
    School,
    Zone,
    ZoneDistance,
)
from lfi_placements.domain.calendar import AcademicCalendar, Term, TermName
from lfi_placements.domain.errors import (
    PlacementNotFound,
    PlacementRequestNotFound,
    ProvisionNotFound,
    ProvisionTypeNotFound,
)
from lfi_placements.domain.identifiers import PrimaryNeed, YearGroup, ZoneId
from lfi_placements.domain.matching import ZoneDistance as ZoneDistanceFn
from lfi_placements.domain.matching import zone_distances
from lfi_placements.domain.placement import ParentalAgreement, Placement
from lfi_placements.domain.provision import Provision, ProvisionType
from lfi_placements.domain.request import PRIORITY_ORDER, PlacementRequest
from lfi_placements.domain.stay import StayRule
from lfi_placements.domain.vocabulary import (
    HOLDING_STATUSES,
    CancellationReason,
    EndOutcome,
    ParentalResponsibility,
    PlacementStatus,
    Priority,
    ProvisionKind,
    ProvisionStatus,
    RequestStatus,
)

UNKNOWN_ZONE: ZoneId = uuid.UUID(int=0)
"""Stands for a request whose zone nobody has told us: no distance to any provision is known,
so matching falls back to the provision with most free places."""

_HOLDING = [s.value for s in HOLDING_STATUSES]


# -- conversions ---------------------------------------------------------------------------

def provision_of(row: ProvisionRow) -> Provision:
    return Provision(
        id=row.id, provision_type=ProvisionKind(row.provision_type), name=row.name,
        capacity=row.capacity, zone_id=row.zone_id, host_school_urn=row.host_school_urn,
        year_groups=frozenset(YearGroup(y) for y in row.year_groups),
        opening_date=row.opening_date, status=ProvisionStatus(row.status),
        closed_on=row.closed_on)


def request_of(row: PlacementRequestRow) -> PlacementRequest:
    return PlacementRequest(
        id=row.id, referral_id=row.referral_id, child_id=row.child_id,
        home_school_urn=row.home_school_urn, zone_id=row.zone_id or UNKNOWN_ZONE,
        year_group=YearGroup(row.year_group), needs=tuple(PrimaryNeed(n) for n in row.needs),
        provision_type=ProvisionKind(row.provision_type), priority=Priority(row.priority),
        requested_start=row.requested_start, requested_at=row.requested_at,
        status=RequestStatus(row.status))


def placement_of(row: PlacementRow) -> Placement:
    agreement = None
    if row.agreement_given_by is not None and row.agreed_on is not None:
        agreement = ParentalAgreement(
            given_by=ParentalResponsibility(row.agreement_given_by), agreed_on=row.agreed_on,
            recorded_by=row.agreement_recorded_by or "unknown",
            recorded_at=row.agreement_recorded_at or row.updated_at)
    return Placement(
        id=row.id, request_id=row.request_id, child_id=row.child_id,
        provision_id=row.provision_id, provision_type=ProvisionKind(row.provision_type),
        status=PlacementStatus(row.status), start_date=row.start_date,
        planned_end=row.planned_end, offered_on=row.offered_on,
        offer_expires_on=row.offer_expires_on, agreement=agreement, started_on=row.started_on,
        ended_on=row.ended_on, outcome=EndOutcome(row.outcome) if row.outcome else None,
        cancellation_reason=(CancellationReason(row.cancellation_reason)
                             if row.cancellation_reason else None))


def provision_type_of(row: ProvisionTypeRow) -> ProvisionType:
    return ProvisionType(code=ProvisionKind(row.code), name=row.name,
                         max_stay_terms=row.max_stay_terms,
                         programme_provisions=row.programme_provisions,
                         programme_places=row.programme_places)


def term_of(row: AcademicTerm) -> Term:
    return Term(academic_year=row.academic_year, name=TermName(row.name), start=row.start_date,
                end=row.end_date)


# -- writing domain changes back ------------------------------------------------------------

def save_request(row: PlacementRequestRow, request: PlacementRequest, at: datetime) -> None:
    """Copy a changed request's status onto its row (a new version)."""
    if row.status != request.status.value:
        row.status = request.status.value
        row.version += 1
        row.updated_at = at


def save_placement(row: PlacementRow, placement: Placement, at: datetime) -> None:
    """Copy a changed placement onto its row (a new version)."""
    row.status = placement.status.value
    row.start_date = placement.start_date
    row.planned_end = placement.planned_end
    row.offer_expires_on = placement.offer_expires_on
    if placement.agreement is not None:
        row.agreement_given_by = placement.agreement.given_by.value
        row.agreed_on = placement.agreement.agreed_on
        row.agreement_recorded_by = placement.agreement.recorded_by
        row.agreement_recorded_at = placement.agreement.recorded_at
    row.started_on = placement.started_on
    row.ended_on = placement.ended_on
    row.outcome = placement.outcome.value if placement.outcome else None
    row.cancellation_reason = (placement.cancellation_reason.value
                               if placement.cancellation_reason else None)
    row.version += 1
    row.updated_at = at


def new_placement_row(placement: Placement, request: PlacementRequestRow) -> PlacementRow:
    return PlacementRow(
        id=placement.id, request_id=placement.request_id, child_id=placement.child_id,
        provision_id=placement.provision_id, provision_type=placement.provision_type.value,
        home_school_urn=request.home_school_urn, zone_id=request.zone_id,
        status=placement.status.value, start_date=placement.start_date,
        planned_end=placement.planned_end, offered_on=placement.offered_on,
        offer_expires_on=placement.offer_expires_on, version=1)


# -- queries --------------------------------------------------------------------------------

async def calendar(session: AsyncSession) -> AcademicCalendar:
    rows = (await session.execute(select(AcademicTerm))).scalars().all()
    return AcademicCalendar(term_of(r) for r in rows)


async def provision_types(session: AsyncSession) -> list[ProvisionType]:
    rows = (await session.execute(select(ProvisionTypeRow))).scalars().all()
    return [provision_type_of(r) for r in rows]


_STAY_RULES = "lfi_placements.stay_rules"
"""``session.info`` key: the stay rules read in the session, by provision type (a request reads
its type's rule more than once); dropped whenever the session writes terms or types."""


_TYPE_COLUMNS = (ProvisionTypeRow.code, ProvisionTypeRow.name, ProvisionTypeRow.max_stay_terms,
                 ProvisionTypeRow.programme_provisions, ProvisionTypeRow.programme_places)
_TERM_COLUMNS = (AcademicTerm.academic_year, AcademicTerm.name, AcademicTerm.start_date,
                 AcademicTerm.end_date)
# The type and every term in one query (one row per term; the type alone when none is entered).
_TYPE_AND_TERMS = (select(*_TYPE_COLUMNS, *_TERM_COLUMNS)
                   .outerjoin(AcademicTerm, true())
                   .where(ProvisionTypeRow.code == bindparam("code"))
                   .order_by(AcademicTerm.start_date))

TypeValues = tuple[str, str, int, int | None, int | None]
TermValues = tuple[str, str, date, date]


@functools.lru_cache(maxsize=32)
def _stay_rule_of(type_values: TypeValues, terms: tuple[TermValues, ...]) -> StayRule:
    """The stay rule made of the values read: the same values, the same (immutable) rule, so
    that each request reads the type and the calendar but does not rebuild and revalidate
    them. Raises CalendarInvalid."""
    code, name, max_stay_terms, programme_provisions, programme_places = type_values
    return StayRule(
        calendar=AcademicCalendar(Term(academic_year=year, name=TermName(term), start=start,
                                       end=end) for year, term, start, end in terms),
        provision_type=ProvisionType(code=ProvisionKind(code), name=name,
                                     max_stay_terms=max_stay_terms,
                                     programme_provisions=programme_provisions,
                                     programme_places=programme_places))


async def stay_rule(session: AsyncSession, kind: ProvisionKind) -> StayRule:
    """The stay rule of ``kind`` on the calendar as entered. Raises ProvisionTypeNotFound."""
    known: dict[ProvisionKind, StayRule] = session.info.setdefault(_STAY_RULES, {})
    if kind in known:
        return known[kind]
    rows = (await session.execute(_TYPE_AND_TERMS, {"code": kind.value})).all()
    if not rows:
        raise ProvisionTypeNotFound(f"No provision type '{kind.value}' is configured.")
    width = len(_TYPE_COLUMNS)
    type_values: TypeValues = tuple(rows[0][:width])  # type: ignore[assignment]
    terms: tuple[TermValues, ...] = tuple(
        tuple(r[width:]) for r in rows if r[width] is not None)  # type: ignore[misc]
    rule = _stay_rule_of(type_values, terms)
    known[kind] = rule
    return rule


@event.listens_for(Session, "before_flush")
def _forget_stay_rules(session: Session, _context: object, _instances: object) -> None:
    if session.info.get(_STAY_RULES) and any(
            isinstance(o, (AcademicTerm, ProvisionTypeRow))
            for o in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_STAY_RULES, None)


async def zone_distance(session: AsyncSession) -> ZoneDistanceFn:
    rows = (await session.execute(select(ZoneDistance))).scalars().all()
    return zone_distances({(r.zone_a, r.zone_b): r.distance for r in rows})


async def get_provision(session: AsyncSession, provision_id: UUID, *,
                        lock: bool = False) -> ProvisionRow:
    stmt = select(ProvisionRow).where(ProvisionRow.id == provision_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise ProvisionNotFound("No provision with that id.")
    return row


class ProvisionLock(Enum):
    """How a use case locks the provisions of a type, by what it may do to their places
    (docs/adr-capacity.md)."""

    WAITLIST = "FOR KEY SHARE"
    """Any number at once, beside offers: keeps out only what frees or adds places."""
    OFFER = "FOR NO KEY UPDATE"
    """One offer at a time; waitlistings go on beside it."""
    FREE = "FOR UPDATE"
    """Freeing or adding places (and offering them): keeps out offers and waitlistings."""


_PROVISIONS_OF_TYPE = (select(ProvisionRow)
                       .where(ProvisionRow.provision_type == bindparam("kind"))
                       .order_by(ProvisionRow.id).execution_options(populate_existing=True))
# Built once each (SQLAlchemy reuses their compiled form).
_LOCKED_PROVISIONS_OF_TYPE = {
    ProvisionLock.WAITLIST: _PROVISIONS_OF_TYPE.with_for_update(read=True, key_share=True),
    ProvisionLock.OFFER: _PROVISIONS_OF_TYPE.with_for_update(key_share=True),
    ProvisionLock.FREE: _PROVISIONS_OF_TYPE.with_for_update(),
}


_PROVISION_COLUMNS = (ProvisionRow.id, ProvisionRow.provision_type, ProvisionRow.name,
                      ProvisionRow.capacity, ProvisionRow.zone_id, ProvisionRow.host_school_urn,
                      ProvisionRow.year_groups, ProvisionRow.opening_date, ProvisionRow.status,
                      ProvisionRow.closed_on)
_PROVISION_VALUES_OF_TYPE = (select(*_PROVISION_COLUMNS)
                             .where(ProvisionRow.provision_type == bindparam("kind"))
                             .order_by(ProvisionRow.id))
_LOCKED_PROVISION_VALUES_OF_TYPE = {
    ProvisionLock.WAITLIST: _PROVISION_VALUES_OF_TYPE.with_for_update(read=True, key_share=True),
    ProvisionLock.OFFER: _PROVISION_VALUES_OF_TYPE.with_for_update(key_share=True),
    ProvisionLock.FREE: _PROVISION_VALUES_OF_TYPE.with_for_update(),
}


@functools.lru_cache(maxsize=256)
def _provision_of_values(provision_id: UUID, kind: str, name: str, capacity: int, zone_id: UUID,
                         host_school_urn: str, year_groups: tuple[str, ...], opening_date: date,
                         status: str, closed_on: date | None) -> Provision:
    """The (immutable) provision made of the values read, built once for the same values."""
    return Provision(
        id=provision_id, provision_type=ProvisionKind(kind), name=name, capacity=capacity,
        zone_id=zone_id, host_school_urn=host_school_urn,
        year_groups=frozenset(YearGroup(y) for y in year_groups), opening_date=opening_date,
        status=ProvisionStatus(status), closed_on=closed_on)


async def lock_provisions(session: AsyncSession, kind: ProvisionKind,
                          lock: ProvisionLock) -> list[Provision]:
    """As :func:`lock_provisions_of_type`, as domain provisions (read as they are committed
    once the lock is granted: the rows locked are returned in their latest version)."""
    rows = await session.execute(_LOCKED_PROVISION_VALUES_OF_TYPE[lock], {"kind": kind.value})
    return [_provision_of_values(id_, kind_, name, capacity, zone_id, urn, tuple(years),
                                 opening, status, closed)
            for id_, kind_, name, capacity, zone_id, urn, years, opening, status, closed in rows]


async def lock_provisions_of_type(session: AsyncSession, kind: ProvisionKind,
                                  lock: ProvisionLock = ProvisionLock.FREE
                                  ) -> list[ProvisionRow]:
    """Every provision of ``kind``, locked in id order (one order for every caller, so two
    transactions never wait on each other crosswise) in the ``lock`` mode, until the
    transaction ends."""
    rows = await session.execute(_LOCKED_PROVISIONS_OF_TYPE[lock], {"kind": kind.value})
    return list(rows.scalars().all())


@dataclass(frozen=True)
class Hold:
    """A place held at a provision from ``start_date`` to ``planned_end`` (all that counting
    places needs of an offer or placement: ``domain.occupancy.HoldsPlace``)."""

    provision_id: UUID
    start_date: date
    planned_end: date
    holds_place: bool = True


_PROVISION_IDS = bindparam("provision_ids", type_=ARRAY(PG_UUID(as_uuid=True)))
_HOLDS = (select(PlacementRow.provision_id, PlacementRow.start_date, PlacementRow.planned_end)
          .where(PlacementRow.provision_id == any_(_PROVISION_IDS),
                 PlacementRow.status.in_(_HOLDING),
                 PlacementRow.planned_end >= bindparam("first", type_=Date)))


async def holds_from(session: AsyncSession, provision_ids: Iterable[UUID],
                     first: date) -> list[Hold]:
    """The places held at the provisions on ``first`` or later, read as they are committed
    now (a new statement: after a lock taken by an earlier one, it sees what that lock waited
    for)."""
    rows = await session.execute(_HOLDS, {"provision_ids": list(provision_ids), "first": first})
    return [Hold(provision_id, start, end) for provision_id, start, end in rows]


async def holding_placements(session: AsyncSession, provision_ids: Iterable[UUID],
                             first: date | None = None) -> list[Placement]:
    """Placements holding a place at the provisions (on ``first`` or later, if given)."""
    ids = list(provision_ids)
    if not ids:
        return []
    stmt = select(PlacementRow).where(PlacementRow.provision_id.in_(ids),
                                      PlacementRow.status.in_(_HOLDING))
    if first is not None:
        stmt = stmt.where(PlacementRow.planned_end >= first)
    # Counted again after a lock is taken: the rows as committed now, not as first loaded.
    stmt = stmt.execution_options(populate_existing=True)
    return [placement_of(r) for r in (await session.execute(stmt)).scalars().all()]


@dataclass(frozen=True)
class ChildSituation:
    """What a new request for a child must be checked against."""

    placements: list[Placement]  # the child's placements that hold a place
    open_request_id: UUID | None  # the child's open request of the type asked for, if any


_OPEN_REQUEST_STATUSES = [RequestStatus.RECEIVED.value, RequestStatus.WAITING.value,
                          RequestStatus.OFFERED.value]
# The child's holding placements (none: one row of NULLs) beside its open request of a type.
_CHILD_SITUATION = (
    select(PlacementRow, select(PlacementRequestRow.id).where(
        PlacementRequestRow.child_id == bindparam("child_id"),
        PlacementRequestRow.provision_type == bindparam("kind"),
        PlacementRequestRow.status.in_(_OPEN_REQUEST_STATUSES)).limit(1).scalar_subquery())
    .select_from(select(literal(1).label("one")).subquery("one"))
    .outerjoin(PlacementRow, and_(PlacementRow.child_id == bindparam("child_id"),
                                  PlacementRow.status.in_(_HOLDING)))
)


async def child_situation(session: AsyncSession, child_id: UUID,
                          kind: ProvisionKind) -> ChildSituation:
    """The child's holding placements and open request of ``kind``, in one round trip."""
    rows = (await session.execute(_CHILD_SITUATION, {"child_id": child_id, "kind": kind.value})
            ).all()
    return ChildSituation(placements=[placement_of(p) for p, _ in rows if p is not None],
                          open_request_id=rows[0][1] if rows else None)


async def child_placements(session: AsyncSession, child_id: UUID) -> list[Placement]:
    stmt = select(PlacementRow).where(PlacementRow.child_id == child_id,
                                      PlacementRow.status.in_(_HOLDING))
    return [placement_of(r) for r in (await session.execute(stmt)).scalars().all()]


async def waiting_request_rows(session: AsyncSession, kinds: Sequence[ProvisionKind] | None = None
                               ) -> list[PlacementRequestRow]:
    stmt = select(PlacementRequestRow).where(
        PlacementRequestRow.status == RequestStatus.WAITING.value)
    if kinds is not None:
        stmt = stmt.where(PlacementRequestRow.provision_type.in_([k.value for k in kinds]))
    return list((await session.execute(stmt)).scalars().all())


_PRIORITY_RANK = case({p.value: i for i, p in enumerate(PRIORITY_ORDER)},
                      value=PlacementRequestRow.priority, else_=len(PRIORITY_ORDER))
# Built once (SQLAlchemy reuses its compiled form); the request's own values are parameters.
_REQUESTS_AHEAD = select(func.count()).select_from(PlacementRequestRow).where(
    PlacementRequestRow.status == RequestStatus.WAITING.value,
    PlacementRequestRow.provision_type == bindparam("kind"),
    tuple_(_PRIORITY_RANK, PlacementRequestRow.requested_at, PlacementRequestRow.id)
    < tuple_(bindparam("rank", type_=Integer),
             bindparam("requested_at", type_=DateTime(timezone=True)),
             bindparam("request_id", type_=PG_UUID(as_uuid=True))))


async def waiting_list_position(session: AsyncSession, request: PlacementRequest) -> int:
    """The place of a waiting request on its type's waiting list (1 = next), as
    :func:`lfi_placements.domain.request.waiting_list` orders it: priority (``PRIORITY_ORDER``),
    then time of request, then id; counted in SQL rather than by loading the whole list."""
    ahead = await session.scalar(_REQUESTS_AHEAD, {
        "kind": request.provision_type.value, "rank": PRIORITY_ORDER.index(request.priority),
        "requested_at": request.requested_at, "request_id": request.id})
    return int(ahead or 0) + 1


async def get_request(session: AsyncSession, request_id: UUID, *,
                      lock: bool = False) -> PlacementRequestRow:
    stmt = select(PlacementRequestRow).where(PlacementRequestRow.id == request_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise PlacementRequestNotFound("No placement request with that id.")
    return row


async def get_placement(session: AsyncSession, placement_id: UUID, *,
                        lock: bool = False) -> PlacementRow:
    stmt = select(PlacementRow).where(PlacementRow.id == placement_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise PlacementNotFound("No placement with that id.")
    return row


async def zone_codes(session: AsyncSession) -> dict[UUID, str]:
    rows = (await session.execute(select(Zone.id, Zone.code))).all()
    return {r.id: r.code for r in rows}


async def school_zone(session: AsyncSession, urn: str) -> UUID | None:
    school = await session.get(School, urn)
    return school.zone_id if school is not None else None
