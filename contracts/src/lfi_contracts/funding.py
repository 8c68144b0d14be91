"""Events published by the funding service (``lfi.funding.*``). Amounts are pounds strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from lfi_shared.messaging import EventContract


class BudgetApproved(EventContract):
    event_type: ClassVar[str] = "lfi.funding.budget.approved.v1"
    financial_year: str
    total: str
    formula_block: str
    cohort_block: str
    approved_at: datetime


class FormulaPublished(EventContract):
    event_type: ClassVar[str] = "lfi.funding.formula.published.v1"
    financial_year: str
    version: int
    block: str
    schools: int
    published_at: datetime


class ApplicationSubmitted(EventContract):
    event_type: ClassVar[str] = "lfi.funding.application.submitted.v1"
    application_id: UUID
    referral_id: UUID | None = None
    school_urn: str
    financial_year: str
    kind: Literal["cohort", "whole_school"]
    amount_requested: str
    submitted_at: datetime


class ApplicationDecided(EventContract):
    event_type: ClassVar[str] = "lfi.funding.application.decided.v1"
    application_id: UUID
    referral_id: UUID | None = None
    school_urn: str
    financial_year: str
    outcome: Literal["approved", "part_approved", "declined"]
    amount_requested: str
    amount_awarded: str
    decided_on: date
    panel_id: UUID | None = None


class PaymentsScheduled(EventContract):
    event_type: ClassVar[str] = "lfi.funding.payments.scheduled.v1"
    schedule_id: UUID
    application_id: UUID | None = None
    referral_id: UUID | None = None
    school_urn: str
    financial_year: str
    total: str
    instalments: list[dict[str, str]] = Field(
        description="[{'term': 'spring', 'due_on': '2026-01-06', 'amount': '1234.56'}]")
