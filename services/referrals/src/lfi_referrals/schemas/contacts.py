"""API schemas of phoneline contacts: ``ContactCreate / ContactRead``."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from lfi_referrals.db.models import PhonelineContact
from lfi_referrals.domain.identifiers import Urn
from lfi_referrals.schemas.referrals import ReferralDetails
from lfi_shared.http.temporal import IsoDate, IsoDateTime


class CallerType(StrEnum):
    SCHOOL_STAFF = "school_staff"
    PARENT_CARER = "parent_carer"
    HEALTH_PROFESSIONAL = "health_professional"
    SOCIAL_CARE = "social_care"
    LOCAL_AUTHORITY = "local_authority"
    OTHER = "other"


Text = Annotated[str, Field(max_length=10_000)]


class ContactCreate(BaseModel):
    """A call to the SEND and Inclusion phoneline."""

    model_config = ConfigDict(extra="forbid")

    received_at: IsoDateTime | None = Field(default=None, description="Now when omitted.")
    caller_type: CallerType
    school_urn: Urn | None = None
    topic: Annotated[str, Field(min_length=1, max_length=200)]
    summary: Text | None = None
    advice_given: Text | None = None
    follow_up: Text | None = Field(default=None, description="What follow-up was agreed.")
    follow_up_by: IsoDate | None = None


class ContactToReferral(BaseModel):
    """Turn a call into a draft referral of the caller's school."""

    model_config = ConfigDict(extra="forbid")

    details: ReferralDetails


class ContactRead(BaseModel):
    id: UUID
    received_at: datetime
    caller_type: str
    school_urn: str | None
    zone_id: UUID | None
    topic: str
    summary: str | None
    advice_given: str | None
    follow_up: str | None
    follow_up_by: date | None
    referral_id: UUID | None
    recorded_by: str
    version: int
    created_at: datetime


def contact_read(row: PhonelineContact) -> ContactRead:
    return ContactRead(
        id=row.id, received_at=row.received_at, caller_type=row.caller_type,
        school_urn=row.school_urn, zone_id=row.zone_id, topic=row.topic, summary=row.summary,
        advice_given=row.advice_given, follow_up=row.follow_up, follow_up_by=row.follow_up_by,
        referral_id=row.referral_id, recorded_by=row.recorded_by, version=row.version,
        created_at=row.created_at)
