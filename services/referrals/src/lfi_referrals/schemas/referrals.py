"""API schemas of referrals: ``ReferralCreate / ReferralDetails / ReferralRead / ReferralSummary``
and the bodies of the transitions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from lfi_referrals.domain.census import (
    ExclusionType,
    NationalCurriculumYear,
    SenPrimaryNeed,
    SenProvision,
)
from lfi_referrals.domain.identifiers import Upn, Urn
from lfi_referrals.domain.lifecycle import ReferralAction, ReferralStatus
from lfi_referrals.domain.subjects import SubjectKind
from lfi_referrals.domain.support import (
    ClosureOutcome,
    DeclineReason,
    ParentRelationship,
    ProvisionType,
    SupportFocus,
    SupportLevel,
    SupportRequest,
    WithdrawalReason,
)
from lfi_shared.http.temporal import IsoDate

Text = Annotated[str, Field(max_length=10_000)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
ContractPriority = Literal["at_risk_of_permanent_exclusion", "high", "standard"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExclusionIn(_Strict):
    kind: ExclusionType = Field(description="SUSP (suspension), PERM (permanent), LNCH (lunchtime)")
    start_on: IsoDate
    school_days: Decimal | None = Field(
        default=None, description="Length of a (lunchtime) suspension in school days, in halves;"
                                  " none for a permanent exclusion.")


class ChildIn(_Strict):
    """The child a referral is about (personal data: shown only to those who may see it)."""

    given_name: ShortText
    family_name: ShortText
    date_of_birth: IsoDate
    upn: Upn
    year_group: NationalCurriculumYear
    sen_provision: SenProvision = Field(description="N (none), K (SEN support), E (EHC plan)")
    primary_need: SenPrimaryNeed | None = None
    secondary_need: SenPrimaryNeed | None = None
    exclusions: list[ExclusionIn] = Field(
        default_factory=list, max_length=200,
        description="This school year's suspensions and any permanent exclusion.")


class CohortIn(_Strict):
    description: Text
    pupil_count: int = Field(ge=0, le=5000)
    year_groups: list[NationalCurriculumYear] = Field(max_length=17)
    primary_needs: list[SenPrimaryNeed] = Field(default_factory=list, max_length=13,
                                                description="The cohort's needs profile.")


class WholeSchoolIn(_Strict):
    focus_area: Text


class ParentalAgreementIn(_Strict):
    given_by: ParentRelationship = Field(description="Who agreed, by relationship to the child")
    agreed_on: IsoDate


class ReferralDetails(_Strict):
    """What the school writes in a draft (and may change until it submits)."""

    subject_kind: SubjectKind
    child: ChildIn | None = Field(default=None, description="Required for a child referral.")
    cohort: CohortIn | None = Field(default=None, description="Required for a cohort referral.")
    whole_school: WholeSchoolIn | None = Field(
        default=None, description="Required for a whole-school referral.")
    concerns: Text | None = None
    already_tried: Text | None = Field(default=None,
                                       description="What the school has already tried.")
    support_requested: list[SupportRequest] = Field(default_factory=list, max_length=7)
    parental_agreement: ParentalAgreementIn | None = None


class ReferralCreate(ReferralDetails):
    school_urn: Urn


# ----------------------------------------------------------------------------- transitions


class TriageIn(_Strict):
    practitioner_id: UUID | None = Field(
        default=None, description="The triaging practitioner; the caller when omitted.")


class SupportPlanIn(_Strict):
    level: SupportLevel
    focus: SupportFocus
    actions: list[Annotated[str, Field(max_length=2000)]] = Field(max_length=50)
    practitioner_id: UUID | None = Field(default=None,
                                         description="Lead practitioner; the caller if omitted.")
    ep_hours: Decimal = Field(description="Educational Psychologist hours, e.g. \"6.50\"")
    review_on: IsoDate


class AcceptIn(_Strict):
    support_plan: SupportPlanIn


class CloseIn(_Strict):
    outcome: ClosureOutcome
    note: Text | None = None


class DeclineIn(_Strict):
    reason: DeclineReason
    note: Text | None = None


class WithdrawIn(_Strict):
    reason: WithdrawalReason
    note: Text | None = None


class AssignmentIn(_Strict):
    practitioner_id: UUID


class PlacementRequestIn(_Strict):
    provision_type: ProvisionType
    priority: ContractPriority
    requested_start: IsoDate | None = Field(default=None, description="Today when omitted.")
    parental_agreement: ParentalAgreementIn | None = Field(
        default=None, description="Records (or replaces) the parents' agreement.")


class Element3ReviewIn(_Strict):
    amount_requested: str | None = Field(default=None, pattern=r"^[0-9]{1,9}\.[0-9]{2}$",
                                         description="Pounds, e.g. \"12500.00\"")
    focus: Text | None = None
    needs_profile: dict[SenPrimaryNeed, Annotated[int, Field(ge=0, le=5000)]] = Field(
        default_factory=dict, description="Primary need → number of pupils")


class CaseNoteCreate(_Strict):
    body: Annotated[str, Field(min_length=1, max_length=20_000)]


# ------------------------------------------------------------------------------------ reads


class ExclusionRead(BaseModel):
    kind: ExclusionType
    start_on: date | None
    school_days: str | None


class ChildRead(BaseModel):
    child_id: UUID
    given_name: str | None = Field(description="Null once anonymised")
    family_name: str | None
    date_of_birth: date | None
    upn: str | None
    year_group: str
    sen_provision: SenProvision
    primary_need: SenPrimaryNeed | None
    secondary_need: SenPrimaryNeed | None
    exclusions: list[ExclusionRead]


class CohortRead(BaseModel):
    description: str | None
    pupil_count: int
    year_groups: list[str]
    primary_needs: list[str]


class WholeSchoolRead(BaseModel):
    focus_area: str | None


class ParentalAgreementRead(BaseModel):
    given_by: ParentRelationship
    agreed_on: date


class TriageRead(BaseModel):
    practitioner_id: UUID
    triaged_at: datetime


class SupportPlanRead(BaseModel):
    level: SupportLevel
    focus: SupportFocus
    actions: list[str]
    practitioner_id: UUID
    ep_hours: str
    review_on: date
    accepted_at: datetime


class Finished(BaseModel):
    at: datetime
    code: str = Field(description="The outcome or reason code")
    note: str | None
    by: str | None = None


class PlacementRequestRead(BaseModel):
    request_id: UUID
    provision_type: str
    priority: str
    requested_start: date
    requested_at: datetime


class Element3ReviewRead(BaseModel):
    request_id: UUID
    amount_requested: str | None
    focus: str | None
    requested_at: datetime


class ShownPlacementRead(BaseModel):
    status: str
    request_id: UUID
    provision_id: UUID | None
    starts_on: date | None
    ends_on: date | None
    end_reason: str | None
    as_of: datetime


class ShownFundingRead(BaseModel):
    status: str
    application_id: UUID | None
    amount_awarded: str | None = Field(description="Pounds")
    as_of: datetime


class ShownOutcomesRead(BaseModel):
    placement: ShownPlacementRead | None
    funding: ShownFundingRead | None


class ReferralSummary(BaseModel):
    """A referral in a list: no name, date of birth or UPN (lists are not logged as reads of a
    child's record; open the referral to see who it is about)."""

    id: UUID
    school_urn: str
    zone_id: UUID
    subject_kind: SubjectKind
    status: ReferralStatus
    child_id: UUID | None
    year_groups: list[str]
    needs: list[str]
    support_requested: list[str]
    submitted_at: datetime | None
    triage_due_on: date | None
    overdue: bool
    assigned_practitioner_id: UUID | None
    shown: ShownOutcomesRead
    created_at: datetime
    updated_at: datetime
    version: int


class ReferralRead(ReferralSummary):
    """A referral in full, with the child's identity (a logged read)."""

    child: ChildRead | None
    cohort: CohortRead | None
    whole_school: WholeSchoolRead | None
    concerns: str | None
    already_tried: str | None
    parental_agreement: ParentalAgreementRead | None
    triage: TriageRead | None
    support_plan: SupportPlanRead | None
    support_started_at: datetime | None
    closure: Finished | None
    decline: Finished | None
    withdrawal: Finished | None
    placement_requests: list[PlacementRequestRead]
    element3_reviews: list[Element3ReviewRead]
    allowed_actions: list[ReferralAction]
    anonymised_at: datetime | None


class CaseNoteRead(BaseModel):
    id: UUID
    referral_id: UUID
    author: str
    author_role: str
    body: str | None
    created_at: datetime


class ReferralExport(BaseModel):
    """Everything held about one referral: the referral, its notes and its access log."""

    referral: ReferralRead
    case_notes: list[CaseNoteRead]
    access_log: list[AccessLogRead]
    exported_at: datetime


class AccessLogRead(BaseModel):
    id: UUID
    at: datetime
    actor: str
    roles: list[str]
    action: str
    operation: str
    purpose: str
    referral_id: UUID | None
    child_id: UUID | None
    request_id: str | None


class SubjectAccessRequest(_Strict):
    """Find a child by opaque id or by UPN (in the body, so it never appears in a URL)."""

    child_id: UUID | None = None
    upn: Upn | None = None


class SubjectAccessExport(BaseModel):
    """Everything held about one child, across referrals (a subject access request)."""

    child_id: UUID | None
    referrals: list[ReferralExport]
    phoneline_contacts: list[dict[str, object]]
    exported_at: datetime


ReferralExport.model_rebuild()
