"""SQLAlchemy models of the referrals service; every table lives in the ``referrals`` schema.

A child's identity (given name, family name, date of birth, UPN) sits in its own ``child_*``
columns of ``referrals`` and nowhere else, so anonymisation nulls exactly those (and the free
text); everything kept for statistics stays in columns of its own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lfi_shared.db import make_metadata
from lfi_shared.platform_tables import add_platform_tables

SCHEMA = "referrals"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


platform = add_platform_tables(Base.metadata)


def table_of(model: type[Base]) -> Table:
    """The table a model maps, for plain (Core) statements on it."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _now() -> Any:
    # Set in Python too, so a flushed row has it without a (lazy, async-unsafe) refresh.
    return mapped_column(DateTime(timezone=True), nullable=False, default=_utcnow,
                         server_default=func.now())


class Zone(Base):
    """A school and community zone (15 in Norfolk), editable reference data."""

    __tablename__ = "zones"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class School(Base):
    """A school of the register (DfE Get Information about Schools layout)."""

    __tablename__ = "schools"

    urn: Mapped[str] = mapped_column(Text, primary_key=True)
    laestab: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    establishment_type: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[str | None] = mapped_column(Text)
    statutory_low_age: Mapped[int | None] = mapped_column(Integer)
    statutory_high_age: Mapped[int | None] = mapped_column(Integer)
    postcode: Mapped[str | None] = mapped_column(Text)
    number_of_pupils: Mapped[int | None] = mapped_column(Integer)
    zone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Zone.id), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class ReferralRow(Base):
    """A TAS referral (see :class:`lfi_referrals.domain.referral.Referral`)."""

    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    school_urn: Mapped[str] = mapped_column(ForeignKey(School.urn))
    zone_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(Zone.id))
    subject_kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(Text)

    # The child: identity (personal data, nulled on anonymisation) ...
    child_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    child_given_name: Mapped[str | None] = mapped_column(Text)
    child_family_name: Mapped[str | None] = mapped_column(Text)
    child_date_of_birth: Mapped[date | None] = mapped_column(Date)
    child_upn: Mapped[str | None] = mapped_column(Text, index=True)
    # ... and census facts kept for statistics.
    sen_provision: Mapped[str | None] = mapped_column(Text)
    primary_need: Mapped[str | None] = mapped_column(Text)
    secondary_need: Mapped[str | None] = mapped_column(Text)
    exclusions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # Year groups and needs of a child (one each) or a cohort (several), for filters.
    year_groups: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    needs: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    cohort_description: Mapped[str | None] = mapped_column(Text)
    cohort_pupil_count: Mapped[int | None] = mapped_column(Integer)
    focus_area: Mapped[str | None] = mapped_column(Text)

    concerns: Mapped[str | None] = mapped_column(Text)
    already_tried: Mapped[str | None] = mapped_column(Text)
    support_requested: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    parental_agreement_by: Mapped[str | None] = mapped_column(Text)
    parental_agreement_on: Mapped[date | None] = mapped_column(Date)

    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    triage_due_on: Mapped[date | None] = mapped_column(Date)
    triaged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    triaged_by: Mapped[uuid.UUID | None] = mapped_column()
    assigned_practitioner_id: Mapped[uuid.UUID | None] = mapped_column()

    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    plan_level: Mapped[str | None] = mapped_column(Text)
    plan_focus: Mapped[str | None] = mapped_column(Text)
    plan_actions: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    plan_practitioner_id: Mapped[uuid.UUID | None] = mapped_column()
    plan_ep_hours: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    plan_review_on: Mapped[date | None] = mapped_column(Date)

    support_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closure_outcome: Mapped[str | None] = mapped_column(Text)
    closure_note: Mapped[str | None] = mapped_column(Text)
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    decline_note: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    withdrawal_note: Mapped[str | None] = mapped_column(Text)
    withdrawn_by: Mapped[str | None] = mapped_column(Text)

    # What the referral shows of its placement and funding (domain/outcomes.py), as JSON;
    # nothing shown is SQL NULL (not a JSON null), which a read need not decode.
    shown_placement: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    shown_funding: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))

    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = _now()

    __table_args__ = (
        Index("ix_referrals_school_created", "school_urn", "created_at", "id"),
        Index("ix_referrals_zone_status", "zone_id", "status"),
        Index("ix_referrals_created", "created_at", "id"),
    )


class PlacementRequestRow(Base):
    """A placement (EIB / APC) asked for from a referral."""

    __tablename__ = "placement_requests"

    request_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(ReferralRow.id), index=True)
    provision_type: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(Text)
    requested_start: Mapped[date] = mapped_column(Date)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(Text)


class Element3ReviewRow(Base):
    """An Element 3 (cohort / whole-school) funding review asked for from a referral."""

    __tablename__ = "element3_reviews"

    request_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(ReferralRow.id), index=True)
    amount_requested_pence: Mapped[int | None] = mapped_column()
    focus: Mapped[str | None] = mapped_column(Text)
    needs_profile: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(Text)


class CaseNote(Base):
    """A case note on a referral: append-only (a trigger refuses edits and deletes; only
    anonymisation may blank the text)."""

    __tablename__ = "case_notes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    referral_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(ReferralRow.id))
    author: Mapped[str] = mapped_column(Text)
    author_role: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    redacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_case_notes_referral_created", "referral_id", "created_at", "id"),)


class AccessLogEntry(Base):
    """Who read, changed or exported a child's record (or a referral), in what role, why, when.
    Append-only (a trigger refuses updates)."""

    __tablename__ = "access_log"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    at: Mapped[datetime] = _now()
    actor: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    action: Mapped[str] = mapped_column(Text)  # read | change | export
    operation: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    child_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    request_id: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_access_log_at", "at", "id"),)


class PhonelineContact(Base):
    """A call to the SEND and Inclusion phoneline."""

    __tablename__ = "phoneline_contacts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    caller_type: Mapped[str] = mapped_column(Text)
    school_urn: Mapped[str | None] = mapped_column(ForeignKey(School.urn))
    zone_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(Zone.id))
    topic: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    advice_given: Mapped[str | None] = mapped_column(Text)
    follow_up: Mapped[str | None] = mapped_column(Text)
    follow_up_by: Mapped[date | None] = mapped_column(Date)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(ReferralRow.id))
    recorded_by: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()

    __table_args__ = (Index("ix_phoneline_contacts_received", "received_at", "id"),)
