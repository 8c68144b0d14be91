"""Request and response bodies of the funding API (API only; the domain has its own types).

Money is a string of pounds with two decimals (``"35000000.00"``); inside, integer pence.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lfi_funding.domain.formula import FactorBasis
from lfi_shared.http.pagination import Page
from lfi_shared.http.temporal import IsoDate

POUNDS_PATTERN = r"^(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$"
SIGNED_POUNDS_PATTERN = r"^-?(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$"

Pounds = Annotated[str, Field(pattern=POUNDS_PATTERN, examples=["1250.00"],
                              description="An amount of pounds, up to two decimals.")]
SignedPounds = Annotated[str, Field(
    pattern=SIGNED_POUNDS_PATTERN, examples=["-50000.00"],
    description="An amount of pounds, negative to take away, up to two decimals.")]
PoundsOut = Annotated[str, Field(examples=["35000000.00"], description="Pounds, two decimals.")]
Urn = Annotated[str, Field(pattern=r"^[0-9]{6}$", examples=["121234"],
                           description="School URN: six digits.")]
FinancialYearLabel = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2025-26"])]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
TermName = Literal["autumn", "spring", "summer"]
Block = Literal["formula", "cohort"]
Scope = Literal["cohort", "whole_school"]
Outcome = Literal["approved", "part_approved", "declined"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- budgets ---------------------------------------------------------------------------------

class BudgetCreate(_In):
    total: Pounds
    formula_block: Pounds = Field(description="The formula block; the cohort / whole-school "
                                              "block is the rest of the total.")
    note: str | None = Field(default=None, max_length=2000)


class BudgetRevise(_In):
    total: Pounds | None = None
    formula_block: Pounds | None = None
    note: str | None = Field(default=None, max_length=2000)


class BudgetApprove(_In):
    approved_on: IsoDate | None = Field(default=None, description="Defaults to today.")


class AdjustmentCreate(_In):
    block: Block
    amount: SignedPounds
    reason: Reason


class AdjustmentRead(BaseModel):
    id: uuid.UUID
    block: Block
    amount: PoundsOut
    reason: str
    made_on: date
    made_by: str
    created_at: datetime


class BudgetRead(BaseModel):
    financial_year: str
    status: Literal["draft", "approved"]
    total: PoundsOut
    formula_block: PoundsOut
    cohort_block: PoundsOut
    committed: PoundsOut = Field(description="Panel awards committed against the cohort block.")
    remaining: PoundsOut = Field(description="What the cohort block has uncommitted.")
    approved_on: date | None
    note: str | None
    illustrative: bool = Field(description="True where the figures are placeholders, not "
                                           "published council figures.")
    version: int
    adjustments: list[AdjustmentRead]


BudgetPage = Page[BudgetRead]


# -- formula ---------------------------------------------------------------------------------

class FactorWrite(_In):
    code: str = Field(min_length=1, max_length=63, examples=["fsm_ever6"])
    basis: FactorBasis
    weight: Decimal = Field(ge=0, examples=["60.00"], description="Relative points per unit.")
    label: str = Field(default="", max_length=200)


class FormulaWrite(_In):
    factors: list[FactorWrite] = Field(min_length=1, max_length=100)


class FactorRead(BaseModel):
    code: str
    basis: FactorBasis
    weight: str
    label: str


class FormulaRead(BaseModel):
    financial_year: str
    version: int
    factors: list[FactorRead]
    created_by: str
    created_at: datetime


FormulaPage = Page[FormulaRead]


class InputImportRead(BaseModel):
    import_id: uuid.UUID
    financial_year: str
    rows: int
    measures: list[str]


class SchoolInputRead(BaseModel):
    urn: str
    pupils_on_roll: int
    measures: dict[str, int]


SchoolInputPage = Page[SchoolInputRead]


class WhatIfRequest(_In):
    weights: dict[str, Decimal] = Field(
        default_factory=dict, description="Factor code → weight to try instead.")
    formula_block: Pounds | None = Field(default=None,
                                         description="Another block size to try.")


class AllocationChangeRead(BaseModel):
    urn: str
    baseline: PoundsOut
    scenario: PoundsOut
    change: PoundsOut


class WhatIfRead(BaseModel):
    financial_year: str
    formula_version: int
    weights: dict[str, str]
    scenario_block: PoundsOut
    baseline_publication: int | None = Field(description="The published version compared "
                                                         "with; null if none is published.")
    baseline_block: PoundsOut
    schools: int
    changes: list[AllocationChangeRead]


class PublicationRead(BaseModel):
    financial_year: str
    version: int
    formula_version: int
    block: PoundsOut
    schools: int
    total_points: str
    published_at: datetime
    published_by: str


class FactorContributionRead(BaseModel):
    factor_code: str
    label: str
    basis: FactorBasis
    weight: str
    value: int = Field(description="The school's input for the factor (1 for a lump sum).")
    amount: PoundsOut = Field(description="This factor's part of the allocation.")


class SchoolAllocationRead(BaseModel):
    financial_year: str
    publication: int
    formula_version: int
    urn: str
    school_name: str | None
    amount: PoundsOut
    points: str
    explanation: list[FactorContributionRead] = Field(
        description="Factor by factor; the amounts sum exactly to the allocation.")


SchoolAllocationPage = Page[SchoolAllocationRead]


# -- applications and panels -----------------------------------------------------------------

class EvidenceWrite(_In):
    needs_profile: str | None = Field(default=None, min_length=1, max_length=20_000)
    provision_map_summary: str | None = Field(default=None, min_length=1, max_length=20_000)
    planned_approach: str | None = Field(default=None, min_length=1, max_length=20_000)
    cohort_size: int | None = Field(default=None, ge=1, le=100_000)
    amount_requested: Pounds | None = None


class EvidenceRead(BaseModel):
    needs_profile: str | None
    provision_map_summary: str | None
    planned_approach: str | None
    cohort_size: int | None
    amount_requested: PoundsOut | None


class ApplicationCreate(_In):
    school_urn: Urn
    financial_year: FinancialYearLabel
    scope: Scope
    evidence: EvidenceWrite = Field(default_factory=EvidenceWrite)


class ApplicationEvidenceUpdate(_In):
    evidence: EvidenceWrite


class WithdrawRequest(_In):
    reason: Reason


class DecisionCreate(_In):
    outcome: Outcome
    amount: Pounds | None = Field(default=None, description="Required for part_approved; "
                                                            "omit for approved and declined.")
    reason: Reason


class DecisionRead(BaseModel):
    outcome: Outcome
    amount_awarded: PoundsOut
    reason: str
    decided_on: date
    panel_id: uuid.UUID
    decided_by: str


class ApplicationRead(BaseModel):
    id: uuid.UUID
    school_urn: str
    school_name: str | None
    financial_year: str
    scope: Scope
    status: str
    evidence: EvidenceRead
    referral_id: uuid.UUID | None
    submitted_on: date | None
    panel_id: uuid.UUID | None
    panel_date: date | None
    decision: DecisionRead | None
    withdrawn_on: date | None
    withdrawal_reason: str | None
    version: int
    created_at: datetime


ApplicationPage = Page[ApplicationRead]


class PanelCreate(_In):
    meeting_on: IsoDate
    title: str | None = Field(default=None, max_length=200)
    financial_year: FinancialYearLabel | None = Field(
        default=None, description="Defaults to the financial year of the meeting date.")


class AgendaAdd(_In):
    application_id: uuid.UUID


class AgendaItemRead(BaseModel):
    position: int
    application_id: uuid.UUID
    school_urn: str
    scope: Scope
    status: str
    amount_requested: PoundsOut | None


class PanelRead(BaseModel):
    id: uuid.UUID
    meeting_on: date
    financial_year: str
    title: str
    version: int
    agenda: list[AgendaItemRead]


PanelPage = Page[PanelRead]


# -- payments --------------------------------------------------------------------------------

class TermWrite(_In):
    term: TermName
    starts_on: IsoDate
    ends_on: IsoDate
    payment_on: IsoDate


class TermsWrite(_In):
    academic_year: str = Field(pattern=r"^[0-9]{4}/[0-9]{2}$", examples=["2025/26"])
    terms: list[TermWrite] = Field(min_length=1, max_length=3)


class TermsRead(BaseModel):
    financial_year: str
    academic_year: str
    terms: list[TermWrite]


class InstalmentRead(BaseModel):
    term: TermName
    due_on: date
    amount: PoundsOut
    payment_run_id: uuid.UUID | None


class ScheduleRead(BaseModel):
    id: uuid.UUID
    kind: Literal["award", "formula"]
    school_urn: str
    financial_year: str
    application_id: uuid.UUID | None
    total: PoundsOut
    rule: str
    instalments: list[InstalmentRead]


class PaymentRunCreate(_In):
    financial_year: FinancialYearLabel
    term: TermName
    run_on: IsoDate | None = Field(default=None, description="Defaults to today; instalments "
                                                          "due on or before it are paid.")


class PaymentRunRead(BaseModel):
    id: uuid.UUID
    financial_year: str
    term: TermName
    run_on: date
    total: PoundsOut
    instalments: int
    created_by: str
    created_at: datetime


PaymentRunPage = Page[PaymentRunRead]


# -- reports ---------------------------------------------------------------------------------

class BlockLine(BaseModel):
    block: Block
    budget: PoundsOut
    committed: PoundsOut = Field(description="Formula: the published allocations; cohort: "
                                             "panel awards.")
    paid: PoundsOut
    remaining: PoundsOut = Field(description="Budget less committed.")


class BlockReport(BaseModel):
    financial_year: str
    status: Literal["draft", "approved"]
    total: PoundsOut
    blocks: list[BlockLine]


class ZoneLine(BaseModel):
    zone_id: uuid.UUID | None
    zone_name: str
    schools: int
    formula_allocated: PoundsOut
    awards_committed: PoundsOut
    committed: PoundsOut
    paid: PoundsOut
    unpaid: PoundsOut


class ZoneReport(BaseModel):
    financial_year: str
    zones: list[ZoneLine]


class SchoolLine(BaseModel):
    urn: str
    school_name: str | None
    zone_id: uuid.UUID | None
    formula_allocated: PoundsOut
    awards_committed: PoundsOut
    committed: PoundsOut
    paid: PoundsOut
    unpaid: PoundsOut


SchoolReportPage = Page[SchoolLine]


class HistoryLine(BaseModel):
    financial_year: str
    status: Literal["draft", "approved"]
    total: PoundsOut
    formula_block: PoundsOut
    cohort_block: PoundsOut
    committed: PoundsOut
    paid: PoundsOut
    change_from_previous: PoundsOut | None
    illustrative: bool


class HistoryReport(BaseModel):
    years: list[HistoryLine]
