"""SQLAlchemy models of the placements service; every table lives in the ``placements`` schema.

Two invariants are held by the database itself (migration 0002, docs/adr-capacity.md): the
places held at a provision on any day never exceed its capacity (triggers serialised on the
provision row), and one child never holds two overlapping placements (a trigger serialised
on an advisory lock per child; no extension). The models only mirror the columns; the
triggers live in the migration.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lfi_shared.db import make_metadata
from lfi_shared.platform_tables import add_platform_tables

SCHEMA = "placements"
HOLDING_SQL = "('offered', 'accepted', 'active')"
"""The placement statuses that hold a place, as SQL (mirrors ``vocabulary.HOLDING_STATUSES``)."""


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


platform = add_platform_tables(Base.metadata)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ProvisionTypeRow(Base):
    """A type of provision (EIB, APC) and its maximum stay, as data."""

    __tablename__ = "provision_types"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    max_stay_terms: Mapped[int] = mapped_column(Integer)
    programme_provisions: Mapped[int | None] = mapped_column(Integer)
    programme_places: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("max_stay_terms >= 1", name="max_stay_positive"),)


class Zone(Base):
    """Read model of the referrals service's zones (``lfi.referrals.zone.*``)."""

    __tablename__ = "zones"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = _now()


class School(Base):
    """Read model of the school register (``lfi.referrals.school.*``); no personal data."""

    __tablename__ = "schools"

    urn: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    phase: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(100))
    zone_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = _now()


class ZoneDistance(Base):
    """How far apart two zones are, for matching (data; each pair once, ``zone_a < zone_b``)."""

    __tablename__ = "zone_distances"

    zone_a: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    zone_b: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    distance: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("zone_a < zone_b", name="ordered_pair"),
        CheckConstraint("distance >= 1", name="distance_positive"),
    )


class AcademicTerm(Base):
    """One term of one academic year (Norfolk's dates; later years entered by officers)."""

    __tablename__ = "academic_terms"

    academic_year: Mapped[str] = mapped_column(String(7), primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("start_date <= end_date", name="dates_in_order"),
        CheckConstraint("name IN ('autumn', 'spring', 'summer')", name="term_name"),
    )


class ProvisionRow(Base):
    """An Early Intervention Base or Alternative Provision Centre."""

    __tablename__ = "provisions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    provision_type: Mapped[str] = mapped_column(ForeignKey("provision_types.code"))
    name: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    zone_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    host_school_urn: Mapped[str] = mapped_column(String(6))
    year_groups: Mapped[list[str]] = mapped_column(ARRAY(String(3)))
    opening_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    closed_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    # Bumped by the capacity trigger on every change of the places held: the row update that
    # serialises concurrent holds (see docs/adr-capacity.md). Not part of the ETag.
    holds_revision: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("status IN ('planned', 'open', 'closed')", name="status"),
        CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name="closed_has_date"),
        CheckConstraint("cardinality(year_groups) >= 1", name="serves_a_year_group"),
    )


class PlacementRequestRow(Base):
    """A request for a placement for a child (only the opaque ``child_id``)."""

    __tablename__ = "placement_requests"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    home_school_urn: Mapped[str] = mapped_column(String(6))
    zone_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    year_group: Mapped[str] = mapped_column(String(3))
    needs: Mapped[list[str]] = mapped_column(ARRAY(String(8)), server_default=text("'{}'"))
    provision_type: Mapped[str] = mapped_column(ForeignKey("provision_types.code"))
    priority: Mapped[str] = mapped_column(String(40))
    requested_start: Mapped[date] = mapped_column(Date)
    requested_end: Mapped[date | None] = mapped_column(Date)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    correlation_id: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint("status IN ('received', 'waiting', 'offered', 'placed', 'cancelled')",
                        name="status"),
        CheckConstraint("requested_end IS NULL OR requested_end >= requested_start",
                        name="end_after_start"),
        Index("ix_placement_requests_waiting", "provision_type", "requested_at",
              postgresql_where=text("status = 'waiting'")),
        Index("ix_placement_requests_child_id", "child_id"),
    )


class PlacementRow(Base):
    """An offer or placement: holds a place from ``start_date`` to ``planned_end`` while
    offered, accepted or active."""

    __tablename__ = "placements"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("placement_requests.id"))
    child_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    provision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("provisions.id"))
    provision_type: Mapped[str] = mapped_column(String(16))
    home_school_urn: Mapped[str] = mapped_column(String(6))
    zone_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date] = mapped_column(Date)
    offered_on: Mapped[date] = mapped_column(Date)
    offer_expires_on: Mapped[date] = mapped_column(Date)
    agreement_given_by: Mapped[str | None] = mapped_column(String(40))
    agreed_on: Mapped[date | None] = mapped_column(Date)
    agreement_recorded_by: Mapped[str | None] = mapped_column(String(200))
    agreement_recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(40))
    cancellation_reason: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (
        CheckConstraint(
            "status IN ('offered', 'accepted', 'active', 'ended', 'declined', 'withdrawn', "
            "'expired')", name="status"),
        CheckConstraint("planned_end >= start_date", name="end_after_start"),
        Index("ix_placements_provision_holding", "provision_id", "start_date",
              postgresql_where=text(f"status IN {HOLDING_SQL}")),
        Index("ix_placements_child_holding", "child_id", "start_date",
              postgresql_where=text(f"status IN {HOLDING_SQL}")),
        Index("ix_placements_request_id", "request_id"),
        Index("ix_placements_home_school_urn", "home_school_urn"),
        Index("ix_placements_offer_due", "offer_expires_on",
              postgresql_where=text("status = 'offered'")),
    )
