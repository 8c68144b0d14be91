"""Loading and saving the placements aggregates: rows ⇄ domain models. Flush, never commit."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Integer,
    String,
    Table,
    and_,
    any_,
    bindparam,
    case,
    event,
    func,
    insert,
    literal_column,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from lfi_placements.db.driver import DriverStatement
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

# The tables, for the prebuilt Core statements of the busiest use case (a new request): a Core
# statement skips the ORM's per-execution work (compile state, identity map, unit of work).
_PROVISIONS = cast(Table, ProvisionRow.__table__)
_REQUESTS = cast(Table, PlacementRequestRow.__table__)
_PLACEMENTS = cast(Table, PlacementRow.__table__)
_TYPES = cast(Table, ProvisionTypeRow.__table__)
_TERMS = cast(Table, AcademicTerm.__table__)


def _sql_constants(values: Iterable[str]) -> list[ColumnElement[str]]:
    """Constant values written into a prebuilt statement's SQL, not sent as parameters: the
    statement is the same for every call, and the planner sees the same predicate as a
    partial index's (``status IN ('accepted', 'active', 'offered')``)."""
    return [literal_column(f"'{v}'", String) for v in sorted(values)]


_HOLDING_SQL = _sql_constants(_HOLDING)


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


def placement_of(row: PlacementRow | Row[*tuple[Any, ...]]) -> Placement:
    """The placement of an ORM row, or of a row of a query selecting the table's columns."""
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

def _request_changes(row: PlacementRequestRow, request: PlacementRequest,
                     at: datetime) -> dict[str, Any]:
    if row.status == request.status.value:
        return {}
    return {"status": request.status.value, "version": row.version + 1, "updated_at": at}


def save_request(row: PlacementRequestRow, request: PlacementRequest, at: datetime) -> None:
    """Copy a changed request's status onto its row (a new version)."""
    for column, value in _request_changes(row, request, at).items():
        setattr(row, column, value)


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


_NEW_REQUEST_COLUMNS = tuple(c.key for c in _REQUESTS.c if c.key != "created_at")
_INSERT_REQUEST = insert(_REQUESTS)
# A new request's row as a data-modifying CTE (parameters: request_<column>).
_NEW_REQUEST = insert(_REQUESTS).values(
    {c: bindparam(f"request_{c}", type_=_REQUESTS.c[c].type) for c in _NEW_REQUEST_COLUMNS}
).cte("new_request")


def new_request_values(row: PlacementRequestRow, request: PlacementRequest | None = None,
                       at: datetime | None = None) -> dict[str, Any]:
    """The columns of a new request's ``row``, written by :func:`insert_request` or with the
    lock of :func:`lock_provisions`: as the row holds them, or as :func:`save_request` would
    leave them with ``request`` at ``at`` (the row itself unchanged)."""
    values = {c: getattr(row, c) for c in _NEW_REQUEST_COLUMNS}
    if request is not None and at is not None:
        values |= _request_changes(row, request, at)
    return values


async def insert_request(session: AsyncSession, row: PlacementRequestRow) -> None:
    """Write a new request's row, its outcome already on it, with one prebuilt statement and
    no unit of work. The row object stays out of the session: it is what the caller answers
    with, and a later change to it would not be saved."""
    await session.execute(_INSERT_REQUEST, new_request_values(row))


# -- the provisions' locks, let go of before the transaction ends ----------------------------

# Run by the driver (db/driver.py), as the other statements of a new request's count.
_SAVEPOINT = DriverStatement(text("SAVEPOINT before_provision_locks"))
_ROLLBACK_TO_SAVEPOINT = DriverStatement(text("ROLLBACK TO SAVEPOINT before_provision_locks"))


async def mark_before_locks(session: AsyncSession) -> None:
    """A savepoint, so that the row locks taken after it can be let go of
    (:func:`let_go_of_locks`) while the transaction goes on.

    It is never released: a savepoint still open when the transaction commits is committed
    with it (and the locks taken since are kept to the end), so a ``RELEASE`` would be one
    more round trip for nothing. Only reads, locks and rows written by statements of this
    module may come between it and :func:`let_go_of_locks`, which undoes them (the session is
    not told of the savepoint: it must have nothing to undo)."""
    await _SAVEPOINT.execute(session)


async def let_go_of_locks(session: AsyncSession) -> None:
    """Roll back to :func:`mark_before_locks`' savepoint: the row locks taken since are let
    go of (and the rows written since undone), and the savepoint stays, to be returned to
    again."""
    await _ROLLBACK_TO_SAVEPOINT.execute(session)


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


_TYPE_COLUMNS = (_TYPES.c.code.label("type_code"), _TYPES.c.name.label("type_name"),
                 _TYPES.c.max_stay_terms, _TYPES.c.programme_provisions, _TYPES.c.programme_places)
_TERM_COLUMNS = (_TERMS.c.academic_year.label("term_year"), _TERMS.c.name.label("term_name"),
                 _TERMS.c.start_date.label("term_start"), _TERMS.c.end_date.label("term_end"))
# The type and every term in one query (one row per term; the type alone when none is entered).
_TYPE_AND_TERMS = (select(*_TYPE_COLUMNS, *_TERM_COLUMNS)
                   .select_from(_TYPES.outerjoin(_TERMS, true()))
                   .where(_TYPES.c.code == bindparam("code"))
                   .order_by(_TERMS.c.start_date))

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


def _remember_stay_rule(session: AsyncSession, kind: ProvisionKind,
                        rows: Sequence[Row[*tuple[Any, ...]]]) -> StayRule:
    """The stay rule of ``kind`` made of rows starting with the type's and a term's columns
    (as ``_TYPE_AND_TERMS``'s; a term may come on several rows), kept for the session.
    Raises ProvisionTypeNotFound (no rows)."""
    if not rows:
        raise ProvisionTypeNotFound(f"No provision type '{kind.value}' is configured.")
    width = len(_TYPE_COLUMNS)
    type_values: TypeValues = tuple(rows[0][:width])
    terms: tuple[TermValues, ...] = tuple(dict.fromkeys(
        tuple(r[width:width + len(_TERM_COLUMNS)]) for r in rows if r[width] is not None))
    rule = _stay_rule_of(type_values, terms)
    session.info.setdefault(_STAY_RULES, {})[kind] = rule
    return rule


async def stay_rule(session: AsyncSession, kind: ProvisionKind) -> StayRule:
    """The stay rule of ``kind`` on the calendar as entered. Raises ProvisionTypeNotFound."""
    known: dict[ProvisionKind, StayRule] = session.info.get(_STAY_RULES, {})
    if kind in known:
        return known[kind]
    rows = (await session.execute(_TYPE_AND_TERMS, {"code": kind.value})).all()
    return _remember_stay_rule(session, kind, rows)


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


_PROVISION_COLUMNS = (_PROVISIONS.c.id, _PROVISIONS.c.provision_type, _PROVISIONS.c.name,
                      _PROVISIONS.c.capacity, _PROVISIONS.c.zone_id, _PROVISIONS.c.host_school_urn,
                      _PROVISIONS.c.year_groups, _PROVISIONS.c.opening_date, _PROVISIONS.c.status,
                      _PROVISIONS.c.closed_on)
_PROVISION_VALUES_OF_TYPE = (select(*_PROVISION_COLUMNS)
                             .where(_PROVISIONS.c.provision_type == bindparam("kind"))
                             .order_by(_PROVISIONS.c.id))
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


# A new request's count runs them by the driver (db/driver.py); the second form writes the
# request's row with the same statement.
_LOCKING = {lock: DriverStatement(statement)
            for lock, statement in _LOCKED_PROVISION_VALUES_OF_TYPE.items()}
_LOCKING_WRITING_REQUEST = {lock: DriverStatement(statement.add_cte(_NEW_REQUEST))
                            for lock, statement in _LOCKED_PROVISION_VALUES_OF_TYPE.items()}


async def lock_provisions(session: AsyncSession, kind: ProvisionKind, lock: ProvisionLock, *,
                          writing: dict[str, Any] | None = None) -> list[Provision]:
    """As :func:`lock_provisions_of_type`, as domain provisions (read as they are committed
    once the lock is granted: the rows locked are returned in their latest version).

    ``writing``: a new request's row (:func:`new_request_values`), written by the same
    statement; like the lock, it is undone by a rollback to a savepoint taken before."""
    if writing is None:
        rows = await _LOCKING[lock].fetch(session, {"kind": kind.value})
    else:
        rows = await _LOCKING_WRITING_REQUEST[lock].fetch(session, {
            "kind": kind.value, **{f"request_{c}": v for c, v in writing.items()}})
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
_HOLDS = (select(_PLACEMENTS.c.provision_id, _PLACEMENTS.c.start_date, _PLACEMENTS.c.planned_end)
          .where(_PLACEMENTS.c.provision_id == any_(_PROVISION_IDS),
                 _PLACEMENTS.c.status.in_(_HOLDING_SQL),
                 _PLACEMENTS.c.planned_end >= bindparam("first", type_=Date)))

_PRIORITY_RANK = case({literal_column(f"'{p.value}'"): literal_column(str(i))
                       for i, p in enumerate(PRIORITY_ORDER)},
                      value=_REQUESTS.c.priority, else_=literal_column(str(len(PRIORITY_ORDER))))
# The waiting requests of a type ahead of one request (the request's own values are
# parameters), in waiting-list order: priority, time of request, id.
_REQUESTS_AHEAD = select(func.count().label("ahead")).select_from(_REQUESTS).where(
    _REQUESTS.c.status == literal_column(f"'{RequestStatus.WAITING.value}'", String),
    _REQUESTS.c.provision_type == bindparam("kind"),
    tuple_(_PRIORITY_RANK, _REQUESTS.c.requested_at, _REQUESTS.c.id)
    < tuple_(bindparam("rank", type_=Integer),
             bindparam("requested_at", type_=DateTime(timezone=True)),
             bindparam("request_id", type_=PG_UUID(as_uuid=True))))

# Both in one round trip, by the driver: one row per hold, or one row with no hold (the count
# is on each).
_AHEAD_SUBQUERY = _REQUESTS_AHEAD.subquery("ahead")
_HOLDS_SUBQUERY = _HOLDS.subquery("held")
_HOLDS_AND_REQUESTS_AHEAD = DriverStatement(
    select(_AHEAD_SUBQUERY.c.ahead, _HOLDS_SUBQUERY.c.provision_id,
           _HOLDS_SUBQUERY.c.start_date, _HOLDS_SUBQUERY.c.planned_end)
    .select_from(_AHEAD_SUBQUERY.outerjoin(_HOLDS_SUBQUERY, true())))


def _ahead_of(request: PlacementRequest) -> dict[str, object]:
    return {"kind": request.provision_type.value, "rank": PRIORITY_ORDER.index(request.priority),
            "requested_at": request.requested_at, "request_id": request.id}


async def holds_from(session: AsyncSession, provision_ids: Iterable[UUID], first: date,
                     request: PlacementRequest) -> tuple[list[Hold], int]:
    """The places held at the provisions on ``first`` or later, and the place ``request``
    would take on its type's waiting list (as :func:`waiting_list_position`), both read as
    committed now, with one statement (a new statement: after a lock taken by an earlier one,
    it sees what that lock waited for)."""
    rows = await _HOLDS_AND_REQUESTS_AHEAD.fetch(session, {
        "provision_ids": list(provision_ids), "first": first, **_ahead_of(request)})
    holds = [Hold(provision_id, start, end)
             for _, provision_id, start, end in rows if provision_id is not None]
    return holds, int(rows[0][0]) + 1


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
# The type's stay rule (its terms) and the child's situation in one query: a row per term and
# holding placement of the child (the type and its terms alone when the child holds none), the
# child's open request of the type on each. No row: no such type.
_STAY_AND_CHILD_SITUATION = (
    select(*_TYPE_COLUMNS, *_TERM_COLUMNS,
           select(_REQUESTS.c.id).where(
               _REQUESTS.c.child_id == bindparam("child_id"),
               _REQUESTS.c.provision_type == bindparam("kind"),
               _REQUESTS.c.status.in_(_sql_constants(_OPEN_REQUEST_STATUSES)))
           .limit(1).scalar_subquery().label("open_request_id"),
           *_PLACEMENTS.c)
    .select_from(_TYPES.outerjoin(_TERMS, true())
                 .outerjoin(_PLACEMENTS,
                            and_(_PLACEMENTS.c.child_id == bindparam("child_id"),
                                 _PLACEMENTS.c.status.in_(_HOLDING_SQL))))
    .where(_TYPES.c.code == bindparam("kind"))
    .order_by(_TERMS.c.start_date)
)


async def stay_and_child_situation(session: AsyncSession, kind: ProvisionKind,
                                   child_id: UUID) -> tuple[StayRule, ChildSituation]:
    """The stay rule of ``kind`` (as :func:`stay_rule`) and the child's holding placements
    and open request of ``kind``, in one round trip. Raises ProvisionTypeNotFound."""
    rows = (await session.execute(_STAY_AND_CHILD_SITUATION,
                                  {"kind": kind.value, "child_id": child_id})).all()
    rule = _remember_stay_rule(session, kind, rows)
    placements = {r.id: r for r in rows if r.id is not None}
    return rule, ChildSituation(placements=[placement_of(r) for r in placements.values()],
                                open_request_id=rows[0].open_request_id)


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


async def waiting_list_position(session: AsyncSession, request: PlacementRequest) -> int:
    """The place of a waiting request on its type's waiting list (1 = next), as
    :func:`lfi_placements.domain.request.waiting_list` orders it: priority (``PRIORITY_ORDER``),
    then time of request, then id; counted in SQL rather than by loading the whole list."""
    ahead = await session.scalar(_REQUESTS_AHEAD, _ahead_of(request))
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
