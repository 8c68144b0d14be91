"""Loading and saving the placements aggregates: rows ⇄ domain models. Flush, never commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import DateTime, case, event, func, literal, select, tuple_
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


async def stay_rule(session: AsyncSession, kind: ProvisionKind) -> StayRule:
    """The stay rule of ``kind`` on the calendar as entered. Raises ProvisionTypeNotFound."""
    known: dict[ProvisionKind, StayRule] = session.info.setdefault(_STAY_RULES, {})
    if kind in known:
        return known[kind]
    row = await session.get(ProvisionTypeRow, kind.value)
    if row is None:
        raise ProvisionTypeNotFound(f"No provision type '{kind.value}' is configured.")
    rule = StayRule(calendar=await calendar(session), provision_type=provision_type_of(row))
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


async def lock_provisions_of_type(session: AsyncSession, kind: ProvisionKind, *,
                                  shared: bool = False) -> list[ProvisionRow]:
    """Every provision of ``kind``, locked in id order (one order for every caller, so two
    transactions never wait on each other crosswise): ``FOR UPDATE``, or ``FOR SHARE`` when
    ``shared`` (many holders at once; it keeps out every writer of the rows, and so every
    offer, capacity change and filling of freed places, until the transaction ends)."""
    stmt = (select(ProvisionRow).where(ProvisionRow.provision_type == kind.value)
            .order_by(ProvisionRow.id).with_for_update(read=shared)
            .execution_options(populate_existing=True))
    return list((await session.execute(stmt)).scalars().all())


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
    rank = case({p.value: i for i, p in enumerate(PRIORITY_ORDER)},
                value=PlacementRequestRow.priority, else_=len(PRIORITY_ORDER))
    ahead = await session.scalar(
        select(func.count()).select_from(PlacementRequestRow).where(
            PlacementRequestRow.status == RequestStatus.WAITING.value,
            PlacementRequestRow.provision_type == request.provision_type.value,
            tuple_(rank, PlacementRequestRow.requested_at, PlacementRequestRow.id)
            < tuple_(literal(PRIORITY_ORDER.index(request.priority)),
                     literal(request.requested_at, DateTime(timezone=True)),
                     literal(request.id, PG_UUID(as_uuid=True)))))
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
