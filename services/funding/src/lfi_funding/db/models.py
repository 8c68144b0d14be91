"""SQLAlchemy models of the funding service; every table lives in the ``funding`` schema.

Money is integer pence (``BIGINT``) throughout. The budget invariant "commitments never pass the
cohort / whole-school block" is held by the database itself: a CHECK constraint on the budget
row, and every commitment takes that row ``FOR UPDATE`` first (see ``service.applications``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lfi_shared.db import make_metadata
from lfi_shared.platform_tables import add_platform_tables

SCHEMA = "funding"


class Base(DeclarativeBase):
    metadata = make_metadata(SCHEMA)


platform = add_platform_tables(Base.metadata)


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, default=uuid.uuid4)


def _created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Budget(Base):
    """The Element 3 budget of one financial year (one row per year)."""

    __tablename__ = "budgets"
    __table_args__ = (
        CheckConstraint("formula_block_pence >= 0", name="formula_block_non_negative"),
        CheckConstraint("cohort_block_pence >= 0", name="cohort_block_non_negative"),
        CheckConstraint("committed_pence >= 0", name="committed_non_negative"),
        # The invariant itself: even a write that bypasses the service is refused.
        CheckConstraint("committed_pence <= cohort_block_pence", name="committed_within_cohort"),
        CheckConstraint("status IN ('draft', 'approved')", name="status_known"),
        CheckConstraint("status = 'draft' OR approved_on IS NOT NULL", name="approved_has_date"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    financial_year: Mapped[str] = mapped_column(Text, unique=True)
    start_year: Mapped[int] = mapped_column(Integer, unique=True)
    formula_block_pence: Mapped[int] = mapped_column(BigInteger)
    cohort_block_pence: Mapped[int] = mapped_column(BigInteger)
    committed_pence: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    status: Mapped[str] = mapped_column(Text, server_default=text("'draft'"))
    approved_on: Mapped[date | None] = mapped_column(Date)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    illustrative: Mapped[bool] = mapped_column(server_default=text("false"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class BudgetAdjustment(Base):
    """A recorded change to an approved budget, with its reason."""

    __tablename__ = "budget_adjustments"
    __table_args__ = (
        CheckConstraint("block IN ('formula', 'cohort')", name="block_known"),
        CheckConstraint("amount_pence <> 0", name="amount_non_zero"),
        CheckConstraint("length(btrim(reason)) > 0", name="reason_given"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    budget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("budgets.id"), index=True)
    block: Mapped[str] = mapped_column(Text)
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    made_on: Mapped[date] = mapped_column(Date)
    made_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class FormulaVersion(Base):
    """A version of a year's formula: its factors and weights (``[{code, basis, weight, label}]``)."""

    __tablename__ = "formula_versions"
    __table_args__ = (UniqueConstraint("financial_year", "version"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    financial_year: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class SchoolFormulaInputRow(Base):
    """One school's formula inputs for a year (pupils on roll and a count per measure)."""

    __tablename__ = "school_formula_inputs"
    __table_args__ = (CheckConstraint("pupils_on_roll >= 0", name="roll_non_negative"),)

    financial_year: Mapped[str] = mapped_column(Text, primary_key=True)
    urn: Mapped[str] = mapped_column(Text, primary_key=True)
    pupils_on_roll: Mapped[int] = mapped_column(Integer)
    measures: Mapped[dict[str, int]] = mapped_column(JSONB)
    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("formula_input_imports.id"))


class FormulaInputImport(Base):
    """A CSV import of a year's formula inputs (it replaced the year's inputs as a whole)."""

    __tablename__ = "formula_input_imports"

    id: Mapped[uuid.UUID] = _uuid_pk()
    financial_year: Mapped[str] = mapped_column(Text, index=True)
    rows: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class AllocationPublication(Base):
    """A published allocation of a year's formula block (versioned; the latest is current)."""

    __tablename__ = "allocation_publications"
    __table_args__ = (UniqueConstraint("financial_year", "version"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    financial_year: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    formula_version: Mapped[int] = mapped_column(Integer)
    block_pence: Mapped[int] = mapped_column(BigInteger)
    total_points: Mapped[Decimal] = mapped_column(Numeric)
    schools: Mapped[int] = mapped_column(Integer)
    published_by: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SchoolAllocationRow(Base):
    """A school's published allocation and its explanation ``[{code, value, amount_pence}]``."""

    __tablename__ = "school_allocations"
    __table_args__ = (CheckConstraint("amount_pence >= 0", name="amount_non_negative"),)

    publication_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("allocation_publications.id", ondelete="CASCADE"), primary_key=True)
    urn: Mapped[str] = mapped_column(Text, primary_key=True)
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[Decimal] = mapped_column(Numeric)
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class Zone(Base):
    """Read model of the referrals service's zones."""

    __tablename__ = "zones"

    zone_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class School(Base):
    """Read model of the referrals service's school register (URN, name, zone)."""

    __tablename__ = "schools"

    urn: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    laestab: Mapped[str | None] = mapped_column(Text)
    phase: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    zone_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    number_of_pupils: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), comment="Time of the event the row was last set from.")


class Panel(Base):
    """A meeting of the Element 3 Funding Panel."""

    __tablename__ = "panels"

    id: Mapped[uuid.UUID] = _uuid_pk()
    meeting_on: Mapped[date] = mapped_column(Date, index=True)
    financial_year: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = _created_at()


class Application(Base):
    """A cohort or whole-school Element 3 application (state as in ``domain.applications``)."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint("scope IN ('cohort', 'whole_school')", name="scope_known"),
        CheckConstraint(
            "status IN ('draft', 'submitted', 'on_agenda', 'approved', 'part_approved', "
            "'declined', 'withdrawn')", name="status_known"),
        CheckConstraint("amount_requested_pence IS NULL OR amount_requested_pence > 0",
                        name="amount_requested_positive"),
        Index("ix_applications_school_urn_created_at", "school_urn", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    school_urn: Mapped[str] = mapped_column(Text)
    financial_year: Mapped[str] = mapped_column(Text, index=True)
    scope: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, index=True)
    needs_profile: Mapped[str | None] = mapped_column(Text)
    provision_map_summary: Mapped[str | None] = mapped_column(Text)
    planned_approach: Mapped[str | None] = mapped_column(Text)
    cohort_size: Mapped[int | None] = mapped_column(Integer)
    amount_requested_pence: Mapped[int | None] = mapped_column(BigInteger)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    review_request_id: Mapped[uuid.UUID | None] = mapped_column(
        unique=True, comment="The TAS Element 3 review request that opened it, if any.")
    submitted_on: Mapped[date | None] = mapped_column(Date)
    panel_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("panels.id"), index=True)
    panel_date: Mapped[date | None] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class AgendaItem(Base):
    """An application listed on a panel's agenda (kept when it is deferred to a later panel)."""

    __tablename__ = "panel_agenda_items"

    panel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("panels.id"), primary_key=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"),
                                                      primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created_at()


class Decision(Base):
    """The panel's decision on an application (one per application)."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint("outcome IN ('approved', 'part_approved', 'declined')",
                        name="outcome_known"),
        CheckConstraint("amount_pence >= 0", name="amount_non_negative"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), unique=True)
    panel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("panels.id"), index=True)
    outcome: Mapped[str] = mapped_column(Text)
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class Commitment(Base):
    """An award committed against a year's cohort / whole-school block."""

    __tablename__ = "commitments"
    __table_args__ = (CheckConstraint("amount_pence > 0", name="amount_positive"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    budget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("budgets.id"), index=True)
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("applications.id"), unique=True)
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    committed_at: Mapped[datetime] = _created_at()


class AcademicTerm(Base):
    """A term of the academic year paid from a financial year, with its payment date (data)."""

    __tablename__ = "academic_terms"
    __table_args__ = (
        CheckConstraint("term IN ('autumn', 'spring', 'summer')", name="term_known"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
    )

    financial_year: Mapped[str] = mapped_column(Text, primary_key=True)
    term: Mapped[str] = mapped_column(Text, primary_key=True)
    academic_year: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    payment_on: Mapped[date] = mapped_column(Date)


class PaymentSchedule(Base):
    """The instalments of one amount: a panel award, or a school's formula allocation."""

    __tablename__ = "payment_schedules"
    __table_args__ = (
        CheckConstraint("kind IN ('award', 'formula')", name="kind_known"),
        CheckConstraint("total_pence >= 0", name="total_non_negative"),
        CheckConstraint("(kind = 'award') = (application_id IS NOT NULL)", name="award_has_app"),
        Index("ix_payment_schedules_year_urn", "financial_year", "school_urn"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    kind: Mapped[str] = mapped_column(Text)
    school_urn: Mapped[str] = mapped_column(Text)
    financial_year: Mapped[str] = mapped_column(Text)
    application_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("applications.id"),
                                                             unique=True)
    publication_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("allocation_publications.id"), index=True)
    total_pence: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class PaymentRun(Base):
    """A termly payment run: the instalments it pays, exported as CSV for the finance system."""

    __tablename__ = "payment_runs"
    __table_args__ = (CheckConstraint("term IN ('autumn', 'spring', 'summer')",
                                      name="term_known"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    financial_year: Mapped[str] = mapped_column(Text, index=True)
    term: Mapped[str] = mapped_column(Text)
    run_on: Mapped[date] = mapped_column(Date)
    total_pence: Mapped[int] = mapped_column(BigInteger)
    instalments: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()


class InstalmentRow(Base):
    """One termly instalment of a schedule; ``payment_run_id`` is set once it is paid."""

    __tablename__ = "instalments"
    __table_args__ = (
        CheckConstraint("amount_pence >= 0", name="amount_non_negative"),
        CheckConstraint("term IN ('autumn', 'spring', 'summer')", name="term_known"),
        UniqueConstraint("schedule_id", "term"),
        Index("ix_instalments_unpaid", "financial_year", "term",
              postgresql_where=text("payment_run_id IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4,
                                          server_default=func.gen_random_uuid())
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payment_schedules.id", ondelete="CASCADE"), index=True)
    financial_year: Mapped[str] = mapped_column(Text)
    school_urn: Mapped[str] = mapped_column(Text)
    term: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date] = mapped_column(Date)
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    payment_run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payment_runs.id"),
                                                             index=True)
