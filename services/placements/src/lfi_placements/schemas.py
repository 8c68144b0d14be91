"""The placements API's request and response bodies (API only; the domain has its own models)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from lfi_placements.domain.calendar import AcademicYearLabel, TermName
from lfi_placements.domain.identifiers import URN, PrimaryNeed, YearGroup
from lfi_placements.domain.vocabulary import (
    EndOutcome,
    ParentalResponsibility,
    PlacementStatus,
    Priority,
    ProvisionKind,
    ProvisionStatus,
    RequestStatus,
)
from lfi_shared.http.pagination import Page
from lfi_shared.http.temporal import IsoDate


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- provisions -----------------------------------------------------------------------------

class ProvisionRead(BaseModel):
    id: UUID
    provision_type: ProvisionKind
    name: str
    capacity: int
    zone_id: UUID
    host_school_urn: str
    year_groups: list[YearGroup]
    opening_date: date
    status: ProvisionStatus
    closed_on: date | None
    version: int


class ProvisionUpdate(_Body):
    """An officer's change; fields left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    capacity: int | None = Field(default=None, ge=0, le=10_000)
    opening_date: IsoDate | None = None
    year_groups: list[YearGroup] | None = Field(default=None, min_length=1)
    status: Literal["open", "closed"] | None = None
    closed_on: IsoDate | None = Field(default=None,
                                   description="With status closed: the first day closed.")


ProvisionPage = Page[ProvisionRead]


# -- calendar -------------------------------------------------------------------------------

class TermRead(BaseModel):
    academic_year: str
    name: TermName
    start: date
    end: date


class TermList(BaseModel):
    items: list[TermRead]


class TermDates(_Body):
    name: TermName
    start: IsoDate
    end: IsoDate


class AcademicYearCreate(_Body):
    academic_year: AcademicYearLabel = Field(examples=["2026/27"])
    terms: list[TermDates] = Field(min_length=1, max_length=3)


# -- requests and placements ----------------------------------------------------------------

class PlacementRequestCreate(_Body):
    """TAS's request for a placement (a child only by the opaque ``child_id``)."""

    child_id: UUID
    home_school_urn: URN
    zone_id: UUID | None = Field(
        default=None, description="The child's zone; the home school's zone when left out.")
    year_group: YearGroup
    needs: list[PrimaryNeed] = Field(default_factory=list, max_length=13)
    provision_type: ProvisionKind
    priority: Priority
    requested_start: IsoDate
    planned_end: IsoDate | None = Field(
        default=None, description="The end asked for; the longest stay allowed when left out.")
    referral_id: UUID | None = None


class AgreementRead(BaseModel):
    given_by: ParentalResponsibility
    agreed_on: date
    recorded_by: str
    recorded_at: datetime


class PlacementRead(BaseModel):
    id: UUID
    request_id: UUID
    child_id: UUID
    provision_id: UUID
    provision_type: ProvisionKind
    home_school_urn: str
    status: PlacementStatus
    start_date: date
    planned_end: date
    offered_on: date
    offer_expires_on: date
    agreement: AgreementRead | None
    started_on: date | None
    ended_on: date | None
    outcome: EndOutcome | None
    cancellation_reason: str | None
    version: int


class PlacementRequestRead(BaseModel):
    id: UUID
    referral_id: UUID | None
    child_id: UUID
    home_school_urn: str
    zone_id: UUID | None
    year_group: YearGroup
    needs: list[PrimaryNeed]
    provision_type: ProvisionKind
    priority: Priority
    requested_start: date
    requested_end: date | None
    requested_at: datetime
    status: RequestStatus
    version: int
    placement: PlacementRead | None = Field(
        default=None, description="The offer or placement holding a place for this request.")


PlacementPage = Page[PlacementRead]
PlacementRequestPage = Page[PlacementRequestRead]


class AcceptOffer(_Body):
    given_by: ParentalResponsibility
    agreed_on: IsoDate


class StartPlacement(_Body):
    started_on: IsoDate


class EndPlacement(_Body):
    ended_on: IsoDate
    outcome: EndOutcome


class ChangePlannedEnd(_Body):
    planned_end: IsoDate


class ExpiredOffers(BaseModel):
    expired: list[UUID]


# -- capacity -------------------------------------------------------------------------------

class Figures(BaseModel):
    provisions: int = Field(description="Provisions taking placements that day.")
    capacity: int
    held: int
    free: int
    waiting: int


class TypeFigures(Figures):
    provision_type: ProvisionKind


class ZoneFigures(Figures):
    zone_id: UUID
    zone_code: str | None


class ProvisionFigures(BaseModel):
    provision_id: UUID
    name: str
    provision_type: ProvisionKind
    zone_id: UUID
    accepting: bool
    capacity: int
    held: int
    free: int
    waiting: int


class CapacityView(BaseModel):
    on: date
    overall: Figures
    by_type: list[TypeFigures]
    by_zone: list[ZoneFigures]
    provisions: list[ProvisionFigures]


class PeriodFigures(BaseModel):
    label: str
    first: date
    last: date
    capacity: int
    peak_held: int = Field(description="The most places held on any one day of the period.")
    free: int = Field(description="Places free on every day of the period.")
    starting: int
    ending: int


class ProvisionForecast(BaseModel):
    provision_id: UUID
    name: str
    provision_type: ProvisionKind
    periods: list[PeriodFigures]


class TypeForecast(BaseModel):
    provision_type: ProvisionKind
    periods: list[PeriodFigures] = Field(
        description="Sums over the type's provisions (peak_held is the sum of their peaks).")


class CapacityForecast(BaseModel):
    period: Literal["week", "term"]
    from_date: date
    provisions: list[ProvisionForecast]
    by_type: list[TypeForecast]
