"""``/v1/contacts``: the SEND and Inclusion phoneline's call log (TAS practitioners and local
authority admins), and turning a call into a draft referral."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from lfi_referrals.access import AccessEntry, Act, authorise
from lfi_referrals.api.common import PurposeDep, SettingsDep, request_id_of
from lfi_referrals.api.referrals import idempotency
from lfi_referrals.db.models import PhonelineContact
from lfi_referrals.schemas.contacts import ContactCreate, ContactRead, ContactToReferral, contact_read
from lfi_referrals.schemas.referrals import ReferralCreate, ReferralRead
from lfi_referrals.service import referrals as referral_service
from lfi_referrals.service.referrals import LoadedReferral, now, school_of
from lfi_referrals.service.views import referral_read
from lfi_shared.auth import CurrentPrincipal, require_roles
from lfi_shared.auth.principal import Role
from lfi_shared.http.concurrency import IfMatch, check_if_match, set_etag
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey
from lfi_shared.http.pagination import Page, PageQuery, keyset_page
from lfi_shared.http.problems import PROBLEM_RESPONSES, Conflict, FieldError, InvalidRequest, NotFound

router = APIRouter(tags=["contacts"], responses={
    **PROBLEM_RESPONSES, 404: PROBLEM_RESPONSES[403], 409: PROBLEM_RESPONSES[403],
    412: PROBLEM_RESPONSES[403], 428: PROBLEM_RESPONSES[403]},
                   dependencies=[Depends(require_roles(Role.tas_practitioner, Role.la_admin))])


async def _contact(session: SessionDep, contact_id: uuid.UUID) -> PhonelineContact:
    contact = await session.get(PhonelineContact, contact_id)
    if contact is None:
        raise NotFound("No phoneline contact with this id.")
    return contact


@router.post("/v1/contacts", status_code=201, response_model=ContactRead)
async def log_contact(body: ContactCreate, session: SessionDep, principal: CurrentPrincipal,
                      key: IdempotencyKey = None) -> Response:
    """Log a call to the phoneline: who called, about which school, the advice, the follow-up."""
    zone_id = None
    if body.school_urn is not None:
        zone_id = (await school_of(session, body.school_urn)).zone_id

    async def create() -> CreatedResponse:
        contact = PhonelineContact(
            received_at=body.received_at or now(), caller_type=body.caller_type.value,
            school_urn=body.school_urn, zone_id=zone_id, topic=body.topic,
            summary=body.summary, advice_given=body.advice_given, follow_up=body.follow_up,
            follow_up_by=body.follow_up_by, recorded_by=principal.subject, version=1)
        session.add(contact)
        await session.flush()
        return CreatedResponse(201, contact_read(contact).model_dump(mode="json"),
                               {"ETag": f'"{contact.version}"',
                                "Location": f"/v1/contacts/{contact.id}"})

    return await idempotency.run(session, key=key, owner=principal.subject,
                                 operation="log_contact", payload=body, create=create)


@router.get("/v1/contacts", response_model=Page[ContactRead])
async def list_contacts(session: SessionDep, page: PageQuery, school_urn: str | None = None,
                        zone_id: uuid.UUID | None = None) -> Page[ContactRead]:
    """Phoneline calls, newest first."""
    stmt = select(PhonelineContact)
    if school_urn:
        stmt = stmt.where(PhonelineContact.school_urn == school_urn)
    if zone_id:
        stmt = stmt.where(PhonelineContact.zone_id == zone_id)
    rows, next_cursor = await keyset_page(
        session, stmt, [PhonelineContact.received_at.expression, PhonelineContact.id.expression],
        page, descending=True)
    return Page[ContactRead](items=[contact_read(c) for c in rows], next_cursor=next_cursor)


@router.get("/v1/contacts/{contact_id}", response_model=ContactRead)
async def read_contact(contact_id: uuid.UUID, response: Response,
                       session: SessionDep) -> ContactRead:
    contact = await _contact(session, contact_id)
    set_etag(response, contact.version)
    return contact_read(contact)


@router.post("/v1/contacts/{contact_id}/referral", status_code=201, response_model=ReferralRead)
async def convert_contact_to_referral(contact_id: uuid.UUID, body: ContactToReferral,
                                      if_match: IfMatch, request: Request, response: Response,
                                      session: SessionDep, principal: CurrentPrincipal,
                                      settings: SettingsDep, purpose: PurposeDep) -> ReferralRead:
    """Turn a call about a school into a draft referral of that school's (once)."""
    contact = await _contact(session, contact_id)
    check_if_match(if_match, contact.version)
    if contact.school_urn is None:
        raise InvalidRequest("The call names no school to refer for.", errors=[FieldError(
            field="school_urn", message="The contact has no school.", code="missing")])
    if contact.referral_id is not None:
        raise Conflict("This call has already become a referral.",
                       extra={"referral_id": str(contact.referral_id)})
    create = ReferralCreate(school_urn=contact.school_urn, **body.details.model_dump())
    context = await referral_service.draft_context(session, create)
    await authorise(session, principal, Act.DRAFT, school_urn=context.school.urn,
                    zone_id=context.school.zone_id, not_found="No phoneline contact with this id.")
    row = await referral_service.create_draft(
        session, settings, principal, create, context=context, access=AccessEntry(
            principal, "change", "convert_contact_to_referral",
            purpose or "make a referral from a phoneline call", request_id_of(request)))
    contact.referral_id = row.id
    contact.version += 1
    await session.flush()
    set_etag(response, row.version)
    response.headers["Location"] = f"/v1/referrals/{row.id}"
    return referral_read(LoadedReferral(row=row, placements=[], reviews=[]),
                         referral_service.today(settings))
