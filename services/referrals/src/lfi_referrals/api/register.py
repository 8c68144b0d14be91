"""``/v1/zones`` and ``/v1/schools``: reference data every signed-in user may read; local
authority admins rename zones, move schools and import the DfE register."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import and_, func, select

from lfi_referrals.access import READ_ROLES, require_any_role, scope_of
from lfi_referrals.api.common import SettingsDep, traceparent_of
from lfi_referrals.db.models import ReferralRow, School, Zone
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.schemas.referrals import ReferralSummary
from lfi_referrals.schemas.register import (
    RegisterImportResult,
    SchoolRead,
    SchoolUpdate,
    ZoneRead,
    ZoneRename,
    school_read,
    zone_read,
)
from lfi_referrals.service import referrals as referral_service
from lfi_referrals.service import register as service
from lfi_referrals.service.views import referral_summary
from lfi_shared.auth import CurrentPrincipal, require_roles
from lfi_shared.auth.principal import Role
from lfi_shared.http.concurrency import IfMatch, check_if_match, set_etag
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.pagination import Page, PageQuery, keyset_page
from lfi_shared.http.problems import PROBLEM_RESPONSES, FieldError, InvalidRequest, NotFound

router = APIRouter(responses={**PROBLEM_RESPONSES, 404: PROBLEM_RESPONSES[403],
                             412: PROBLEM_RESPONSES[403], 428: PROBLEM_RESPONSES[403]})
LaAdmin = Depends(require_roles(Role.la_admin))


async def _zone(session: SessionDep, zone_id: uuid.UUID) -> Zone:
    zone = await session.get(Zone, zone_id)
    if zone is None:
        raise NotFound("No zone with this id.")
    return zone


async def _school(session: SessionDep, urn: str) -> School:
    school = await session.get(School, urn)
    if school is None:
        raise NotFound("No school with this URN.")
    return school


@router.get("/v1/zones", response_model=Page[ZoneRead], tags=["zones"])
async def list_zones(session: SessionDep, principal: CurrentPrincipal,
                     page: PageQuery) -> Page[ZoneRead]:
    """The school and community zones, by code."""
    rows, next_cursor = await keyset_page(session, select(Zone), [Zone.code.expression], page)
    return Page[ZoneRead](items=[zone_read(z) for z in rows], next_cursor=next_cursor)


@router.get("/v1/zones/{zone_id}", response_model=ZoneRead, tags=["zones"])
async def read_zone(zone_id: uuid.UUID, response: Response, session: SessionDep,
                    principal: CurrentPrincipal) -> ZoneRead:
    zone = await _zone(session, zone_id)
    set_etag(response, zone.version)
    return zone_read(zone)


@router.patch("/v1/zones/{zone_id}", response_model=ZoneRead, tags=["zones"],
              dependencies=[LaAdmin])
async def rename_zone(zone_id: uuid.UUID, body: ZoneRename, if_match: IfMatch, request: Request,
                      response: Response, session: SessionDep, settings: SettingsDep) -> ZoneRead:
    """Rename a zone (publishes ``zone.renamed``)."""
    zone = await _zone(session, zone_id)
    check_if_match(if_match, zone.version)
    taken = await session.scalar(select(Zone.id).where(Zone.name == body.name,
                                                       Zone.id != zone.id))
    if taken is not None:
        raise InvalidRequest("Another zone has this name.", errors=[FieldError(
            field="body.name", message="Another zone has this name.", code="duplicate_name")])
    await service.rename_zone(session, settings, zone, body.name, traceparent_of(request))
    set_etag(response, zone.version)
    return zone_read(zone)


@router.get("/v1/zones/{zone_id}/overdue-referrals", response_model=Page[ReferralSummary],
            tags=["zones"])
async def list_overdue_referrals(zone_id: uuid.UUID, session: SessionDep,
                                 principal: CurrentPrincipal, settings: SettingsDep,
                                 page: PageQuery) -> Page[ReferralSummary]:
    """Submitted referrals of the zone whose triage is overdue, most overdue first."""
    require_any_role(principal, READ_ROLES)
    await _zone(session, zone_id)
    scope = await scope_of(session, principal)
    today = referral_service.today(settings)
    stmt = select(ReferralRow).where(
        scope.school_and_zone_filter(ReferralRow.school_urn.expression,
                                     ReferralRow.zone_id.expression),
        and_(ReferralRow.zone_id == zone_id,
             ReferralRow.status == ReferralStatus.SUBMITTED.value,
             ReferralRow.triage_due_on < today))
    rows, next_cursor = await keyset_page(
        session, stmt, [ReferralRow.triage_due_on.expression, ReferralRow.id.expression], page)
    return Page[ReferralSummary](items=[referral_summary(r, today) for r in rows],
                                  next_cursor=next_cursor)


@router.get("/v1/schools", response_model=Page[SchoolRead], tags=["schools"])
async def list_schools(session: SessionDep, principal: CurrentPrincipal, page: PageQuery,
                       zone_id: uuid.UUID | None = None,
                       phase: Annotated[str | None, Query(max_length=100)] = None,
                       name: Annotated[str | None, Query(max_length=100,
                                                         description="Part of the name")] = None,
                       ) -> Page[SchoolRead]:
    """The school register, by URN."""
    stmt = select(School)
    if zone_id:
        stmt = stmt.where(School.zone_id == zone_id)
    if phase:
        stmt = stmt.where(func.lower(School.phase) == phase.lower())
    if name:
        stmt = stmt.where(School.name.ilike(f"%{name}%"))
    rows, next_cursor = await keyset_page(session, stmt, [School.urn.expression], page)
    return Page[SchoolRead](items=[school_read(s) for s in rows], next_cursor=next_cursor)


@router.get("/v1/schools/{urn}", response_model=SchoolRead, tags=["schools"])
async def read_school(urn: str, response: Response, session: SessionDep,
                      principal: CurrentPrincipal) -> SchoolRead:
    school = await _school(session, urn)
    set_etag(response, school.version)
    return school_read(school)


@router.patch("/v1/schools/{urn}", response_model=SchoolRead, tags=["schools"],
              dependencies=[LaAdmin])
async def update_school(urn: str, body: SchoolUpdate, if_match: IfMatch, request: Request,
                        response: Response, session: SessionDep,
                        settings: SettingsDep) -> SchoolRead:
    """Move a school to another zone (publishes ``school.updated``)."""
    school = await _school(session, urn)
    check_if_match(if_match, school.version)
    zone = await session.get(Zone, body.zone_id)
    if zone is None:
        raise InvalidRequest("No zone with this id.", errors=[FieldError(
            field="body.zone_id", message="No zone with this id.", code="unknown_zone")])
    await service.move_school(session, settings, school, zone, traceparent_of(request))
    set_etag(response, school.version)
    return school_read(school)


@router.post("/v1/schools/imports", response_model=RegisterImportResult, tags=["schools"],
             dependencies=[LaAdmin],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string"}},
                 "multipart/form-data": {"schema": {
                     "type": "object", "required": ["file"],
                     "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def import_school_register(request: Request, session: SessionDep,
                                 settings: SettingsDep) -> RegisterImportResult:
    """Import the DfE register extract (CSV, as ``text/csv`` or a multipart ``file``).

    Good rows are imported; each bad row is reported by its line with every reason; importing
    the same file again changes nothing. See the service module for the ``Zone`` column.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidRequest("Send the CSV as the form's 'file'.", errors=[FieldError(
                field="body.file", message="A CSV file is required.", code="missing")])
        content = await upload.read()
    elif content_type in ("text/csv", "application/csv", "text/plain"):
        content = await request.body()
    else:
        raise InvalidRequest("Send the register as text/csv or multipart/form-data.", errors=[
            FieldError(field="header.Content-Type", message="Use text/csv or multipart.",
                       code="unsupported_media_type")])
    if len(content) > settings.register_import_max_bytes:
        raise InvalidRequest("The file is too large.", errors=[FieldError(
            field="body", message="The file is too large.", code="too_large")])
    return await service.import_register(session, settings, la_code=settings.la_code,
                                         content=content, traceparent=traceparent_of(request))
