"""Around a referral: placement and Element 3 requests, case notes, exports, the access log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_referrals.access import AccessEntry, Act, log_access, require_any_role
from lfi_referrals.api.common import PurposeDep, SettingsDep, request_id_of, traceparent_of
from lfi_referrals.api.referrals import guarded, idempotency, reply
from lfi_referrals.db.models import AccessLogEntry, CaseNote, PhonelineContact, ReferralRow
from lfi_referrals.domain import referral as domain
from lfi_referrals.domain.support import ParentalAgreement, PlacementPriority
from lfi_referrals.messaging.publishing import PRIORITY_CONTRACT, RequestContext
from lfi_referrals.schemas.contacts import contact_read
from lfi_referrals.schemas.referrals import (
    AccessLogRead,
    CaseNoteCreate,
    CaseNoteRead,
    Element3ReviewIn,
    PlacementRequestIn,
    ReferralExport,
    ReferralRead,
    SubjectAccessExport,
    SubjectAccessRequest,
)
from lfi_referrals.service import referrals as service
from lfi_referrals.service.views import access_log_read, case_note_read, referral_read
from lfi_shared.auth import CurrentPrincipal
from lfi_shared.auth.principal import Role
from lfi_shared.http.concurrency import IfMatch, check_if_match
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey
from lfi_shared.http.pagination import Page, PageQuery, keyset_page
from lfi_shared.http.problems import PROBLEM_RESPONSES, FieldError, InvalidRequest
from lfi_shared.http.temporal import IsoDateTime

router = APIRouter(tags=["referrals"], responses={
    **PROBLEM_RESPONSES, 404: PROBLEM_RESPONSES[403], 409: PROBLEM_RESPONSES[403],
    412: PROBLEM_RESPONSES[403], 428: PROBLEM_RESPONSES[403]})

_PRIORITY_OF = {contract: domain_value for domain_value, contract in PRIORITY_CONTRACT.items()}


@router.post("/v1/referrals/{referral_id}/placement-requests", response_model=ReferralRead,
             status_code=201)
async def request_placement(referral_id: uuid.UUID, body: PlacementRequestIn,
                            if_match: IfMatch, request: Request, response: Response,
                            session: SessionDep, principal: CurrentPrincipal,
                            settings: SettingsDep, purpose: PurposeDep) -> ReferralRead:
    """Ask placements for an EIB or APC place for the child of an accepted referral.

    Publishes ``referral.placement_requested`` carrying the opaque ``child_id`` and
    non-identifying attributes only.
    """
    loaded = await guarded(session, principal, referral_id, Act.TRIAGE, for_update=True)
    check_if_match(if_match, loaded.row.version)
    request_id = uuid.uuid4()
    at = service.now()
    priority: PlacementPriority = _PRIORITY_OF[body.priority]
    agreement = (ParentalAgreement(relationship=body.parental_agreement.given_by,
                                   agreed_on=body.parental_agreement.agreed_on)
                 if body.parental_agreement else None)
    change = domain.request_placement(
        loaded.referral, request_id=request_id, provision_type=body.provision_type,
        priority=priority, at=at, policy=settings.referral_policy(),
        parental_agreement=agreement)
    start = body.requested_start or service.today(settings)
    await service.record_placement_request(session, loaded, request_id=request_id,
                                           body=body, priority=priority,
                                           requested_start=start, at=at,
                                           by=principal.subject)
    await service.apply_change(session, settings, loaded, change, RequestContext(
        traceparent=traceparent_of(request), requested_start=start), access=AccessEntry(
        principal, "change", "request_placement", purpose or "request a placement",
        request_id_of(request)))
    return reply(response, loaded, settings)


@router.post("/v1/referrals/{referral_id}/element3-reviews", response_model=ReferralRead,
             status_code=201)
async def request_element3_review(referral_id: uuid.UUID, body: Element3ReviewIn,
                                  if_match: IfMatch, request: Request, response: Response,
                                  session: SessionDep, principal: CurrentPrincipal,
                                  settings: SettingsDep, purpose: PurposeDep) -> ReferralRead:
    """Recommend Element 3 cohort or whole-school funding from an accepted referral."""
    loaded = await guarded(session, principal, referral_id, Act.TRIAGE, for_update=True)
    check_if_match(if_match, loaded.row.version)
    request_id = uuid.uuid4()
    at = service.now()
    change = domain.request_element3_review(loaded.referral, request_id=request_id, at=at)
    await service.record_element3_review(session, loaded, request_id=request_id, body=body,
                                         at=at, by=principal.subject)
    await service.apply_change(session, settings, loaded, change, RequestContext(
        traceparent=traceparent_of(request), element3_amount=body.amount_requested,
        element3_focus=body.focus,
        element3_needs_profile={k.value: v for k, v in body.needs_profile.items()}),
        access=AccessEntry(principal, "change", "request_element3_review",
                           purpose or "request an Element 3 review", request_id_of(request)))
    return reply(response, loaded, settings)


# ------------------------------------------------------------------------------ case notes


@router.post("/v1/referrals/{referral_id}/notes", response_model=CaseNoteRead, status_code=201)
async def add_case_note(referral_id: uuid.UUID, body: CaseNoteCreate, request: Request,
                        session: SessionDep, principal: CurrentPrincipal, purpose: PurposeDep,
                        key: IdempotencyKey = None) -> Response:
    """Append a case note (notes are never edited or deleted)."""
    loaded = await guarded(session, principal, referral_id, Act.NOTE)

    async def create() -> CreatedResponse:
        role = sorted(r.value for r in principal.roles)
        note = CaseNote(referral_id=loaded.row.id, author=principal.subject,
                        author_role=",".join(role), body=body.body)
        session.add(note)
        await session.flush()
        await log_access(session, principal, action="change", operation="add_case_note",
                         purpose=purpose or "case work", referral=loaded.row,
                         request_id=request_id_of(request))
        return CreatedResponse(201, case_note_read(note).model_dump(mode="json"), {})

    return await idempotency.run(session, key=key, owner=principal.subject,
                                 operation=f"add_case_note:{referral_id}", payload=body,
                                 create=create)


@router.get("/v1/referrals/{referral_id}/notes", response_model=Page[CaseNoteRead])
async def list_case_notes(referral_id: uuid.UUID, request: Request, session: SessionDep,
                          principal: CurrentPrincipal, page: PageQuery,
                          purpose: PurposeDep) -> Page[CaseNoteRead]:
    """The referral's case notes, oldest first (a logged read of the child's record)."""
    loaded = await guarded(session, principal, referral_id, Act.READ)
    rows, next_cursor = await keyset_page(
        session, select(CaseNote).where(CaseNote.referral_id == referral_id),
        [CaseNote.created_at.expression, CaseNote.id.expression], page)
    await log_access(session, principal, action="read", operation="list_case_notes",
                     purpose=purpose or "case work", referral=loaded.row,
                     request_id=request_id_of(request))
    return Page[CaseNoteRead](items=[case_note_read(n) for n in rows], next_cursor=next_cursor)


# -------------------------------------------------------------------------------- exports


async def _export(session: AsyncSession, loaded: service.LoadedReferral,
                  settings: SettingsDep) -> ReferralExport:
    notes = await session.scalars(select(CaseNote).where(CaseNote.referral_id == loaded.row.id)
                                  .order_by(CaseNote.created_at, CaseNote.id))
    log = await session.scalars(select(AccessLogEntry)
                                .where(AccessLogEntry.referral_id == loaded.row.id)
                                .order_by(AccessLogEntry.at, AccessLogEntry.id))
    return ReferralExport(referral=referral_read(loaded, service.today(settings)),
                          case_notes=[case_note_read(n) for n in notes],
                          access_log=[access_log_read(e) for e in log],
                          exported_at=service.now())


@router.get("/v1/referrals/{referral_id}/export", response_model=ReferralExport)
async def export_referral(referral_id: uuid.UUID, request: Request, session: SessionDep,
                          principal: CurrentPrincipal, settings: SettingsDep,
                          purpose: PurposeDep) -> ReferralExport:
    """Everything held on one referral (JSON): the referral, its notes, its access log."""
    loaded = await guarded(session, principal, referral_id, Act.READ)
    await log_access(session, principal, action="export", operation="export_referral",
                     purpose=purpose or "export", referral=loaded.row,
                     request_id=request_id_of(request))
    return await _export(session, loaded, settings)


@router.post("/v1/referrals/subject-access", response_model=SubjectAccessExport)
async def export_subject_access(body: SubjectAccessRequest, request: Request,
                                session: SessionDep, principal: CurrentPrincipal,
                                settings: SettingsDep, purpose: PurposeDep) -> SubjectAccessExport:
    """Everything held about one child across referrals (a subject access request), found by
    ``child_id`` or UPN. Local authority admins only; the export is logged."""
    require_any_role(principal, frozenset({Role.la_admin}))
    if (body.child_id is None) == (body.upn is None):
        raise InvalidRequest("Give exactly one of child_id or upn.", errors=[FieldError(
            field="body", message="Give exactly one of child_id or upn.", code="one_of")])
    match = (ReferralRow.child_id == body.child_id if body.child_id is not None
             else ReferralRow.child_upn == body.upn)
    ids = list(await session.scalars(select(ReferralRow.id).where(match)
                                     .order_by(ReferralRow.created_at)))
    exports: list[ReferralExport] = []
    child_id = body.child_id
    for referral_id in ids:
        loaded = await service.load_referral(session, referral_id)
        child_id = child_id or loaded.row.child_id
        await log_access(session, principal, action="export", operation="export_subject_access",
                         purpose=purpose or "subject access request", referral=loaded.row,
                         request_id=request_id_of(request))
        exports.append(await _export(session, loaded, settings))
    contacts = await session.scalars(select(PhonelineContact).where(
        PhonelineContact.referral_id.in_(ids)))
    return SubjectAccessExport(child_id=child_id, referrals=exports,
                               phoneline_contacts=[contact_read(c).model_dump(mode="json")
                                                   for c in contacts],
                               exported_at=service.now())


# ------------------------------------------------------------------------------ access log


@router.get("/v1/access-log", response_model=Page[AccessLogRead])
async def list_access_log(
    session: SessionDep, principal: CurrentPrincipal, page: PageQuery,
    referral_id: uuid.UUID | None = None, child_id: uuid.UUID | None = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    since: IsoDateTime | None = None, until: IsoDateTime | None = None,
) -> Page[AccessLogRead]:
    """Who read, changed or exported which child's record, newest first (auditors)."""
    require_any_role(principal, frozenset({Role.auditor, Role.la_admin}))
    stmt = select(AccessLogEntry)
    if referral_id:
        stmt = stmt.where(AccessLogEntry.referral_id == referral_id)
    if child_id:
        stmt = stmt.where(or_(AccessLogEntry.child_id == child_id))
    if actor:
        stmt = stmt.where(AccessLogEntry.actor == actor)
    if since:
        stmt = stmt.where(AccessLogEntry.at >= since)
    if until:
        stmt = stmt.where(AccessLogEntry.at < until)
    rows, next_cursor = await keyset_page(
        session, stmt, [AccessLogEntry.at.expression, AccessLogEntry.id.expression], page,
        descending=True)
    return Page[AccessLogRead](items=[access_log_read(e) for e in rows], next_cursor=next_cursor)

