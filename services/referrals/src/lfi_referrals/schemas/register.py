"""API schemas of zones and the school register."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from lfi_referrals.db.models import School, Zone
from lfi_shared.http.problems import FieldError


class ZoneRead(BaseModel):
    id: UUID
    code: str
    name: str
    version: int
    updated_at: datetime


class ZoneRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=120)]


class SchoolRead(BaseModel):
    urn: str
    laestab: str
    name: str
    establishment_type: str | None
    status: str | None
    phase: str | None
    statutory_low_age: int | None
    statutory_high_age: int | None
    postcode: str | None
    number_of_pupils: int | None
    zone_id: UUID
    version: int
    updated_at: datetime


class SchoolUpdate(BaseModel):
    """Move a school to another zone (the register itself comes from the DfE import)."""

    model_config = ConfigDict(extra="forbid")

    zone_id: UUID


class RejectedRow(BaseModel):
    line: int = Field(description="Line of the CSV file (the header is line 1)")
    urn: str | None
    errors: list[FieldError]


class RegisterImportResult(BaseModel):
    rows: int
    registered: int
    updated: int
    unchanged: int
    rejected: list[RejectedRow]


def zone_read(zone: Zone) -> ZoneRead:
    return ZoneRead(id=zone.id, code=zone.code, name=zone.name, version=zone.version,
                    updated_at=zone.updated_at)


def school_read(s: School) -> SchoolRead:
    return SchoolRead(urn=s.urn, laestab=s.laestab, name=s.name,
                      establishment_type=s.establishment_type, status=s.status, phase=s.phase,
                      statutory_low_age=s.statutory_low_age,
                      statutory_high_age=s.statutory_high_age, postcode=s.postcode,
                      number_of_pupils=s.number_of_pupils, zone_id=s.zone_id, version=s.version,
                      updated_at=s.updated_at)
