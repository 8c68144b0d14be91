"""``/v1/referrals``: drafts, reads, lists and the lifecycle's transitions.

Every operation that takes a referral's id answers 404 for a referral the caller may not see
(see :mod:`lfi_referrals.access`) and writes an access-log row when it succeeds. Transitions are
``POST /v1/referrals/{id}/<action>`` under ``If-Match``; an illegal one is a 409 problem and
changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from lfi_referrals.access import (
    READ_ROLES,
    AccessEntry,
    Act,
    authorise,
    log_access,
    require_any_role,
    scope_of,
)
from lfi_referrals.api.common import (
    OneStatementSessionDep,
    PurposeDep,
    SettingsDep,
    request_id_of,
    traceparent_of,
)
from lfi_referrals.domain import referral as domain
from lfi_referrals.domain.census import SenPrimaryNeed
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.domain.referral import Referral, ReferralChange
from lfi_referrals.domain.subjects import SubjectKind
from lfi_referrals.domain.support import SupportPlan, WithdrawnBy
from lfi_referrals.messaging.publishing import RequestContext
from lfi_referrals.schemas.referrals import (
    AcceptIn,
    AssignmentIn,
    CloseIn,
    DeclineIn,
    ReferralCreate,
    ReferralDetails,
    ReferralRead,
    ReferralSummary,
    TriageIn,
    WithdrawIn,
)
from lfi_referrals.service import referrals as service
from lfi_referrals.service.referral_list import ReferralFilters, referral_page
from lfi_referrals.service.views import referral_read
from lfi_shared.auth import CurrentPrincipal
from lfi_shared.auth.principal import Principal, Role
from lfi_shared.http.concurrency import IfMatch, check_if_match, set_etag
from lfi_shared.http.deps import ReadingSessionDep, SessionDep
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey
from lfi_shared.http.pagination import Page, PageQuery
from lfi_shared.http.problems import PROBLEM_RESPONSES, FieldError, InvalidRequest, NotFound
from lfi_shared.http.temporal import IsoDate

router = APIRouter(tags=["referrals"], responses={
    **PROBLEM_RESPONSES, 404: PROBLEM_RESPONSES[403], 409: PROBLEM_RESPONSES[403],
    412: PROBLEM_RESPONSES[403], 428: PROBLEM_RESPONSES[403]})
idempotency = service.IDEMPOTENCY


async def guarded(session: SessionDep, principal: Principal, referral_id: uuid.UUID, act: Act,
                  *, for_update: bool = False) -> service.LoadedReferral:
    """The referral, if the caller may see it (else 404) and may ``act`` on it (else 403)."""
    loaded = await service.load_referral(session, referral_id, for_update=for_update)
    await authorise(session, principal, act, school_urn=loaded.row.school_urn,
                    zone_id=loaded.row.zone_id, not_found=service.NOT_FOUND)
    return loaded


def reply(response: Response, loaded: service.LoadedReferral, settings: SettingsDep,
          referral: Referral | None = None) -> ReferralRead:
    set_etag(response, loaded.row.version)
    return referral_read(loaded, service.today(settings), referral)


# ------------------------------------------------------------------------------ create, read


@router.post("/v1/referrals", status_code=201, response_model=ReferralRead)
async def create_referral(body: ReferralCreate, request: Request,
                          session: OneStatementSessionDep, principal: CurrentPrincipal,
                          settings: SettingsDep, purpose: PurposeDep,
                          key: IdempotencyKey = None) -> Response:
    """Start a draft referral about a child, a cohort or the whole school (no event yet)."""
    claim = idempotency.claim(key=key, owner=principal.subject, operation="create_referral",
                              payload=body)
    context = await service.draft_context(session, body, claim)
    try:
        await authorise(session, principal, Act.DRAFT, school_urn=context.school.urn,
                        zone_id=context.school.zone_id, not_found="")
    except NotFound:
        raise InvalidRequest("You cannot refer for this school.", errors=[FieldError(
            field="body.school_urn", message="Not one of your schools.",
            code="school_not_yours")]) from None
    if claim is not None and (
            replayed := idempotency.replay_stored(claim, context.stored_answer)) is not None:
        return replayed
    row = service.draft_row(settings, principal, body, context=context)
    loaded = service.LoadedReferral(row=row, placements=[], reviews=[])
    read = referral_read(loaded, service.today(settings))
    created = CreatedResponse(201, read.model_dump(mode="json"),
                              {"ETag": f'"{row.version}"', "Location": f"/v1/referrals/{row.id}"})
    written = await service.insert_draft(
        session, row, AccessEntry(principal, "change", "create_referral",
                                  purpose or "make a referral", request_id_of(request)),
        answer=(claim, created) if claim is not None else None)
    if not written:
        assert claim is not None
        return await idempotency.replay(session, claim)  # another request claimed the key
    return created.to_response()


@router.get("/v1/referrals/{referral_id}", response_model=ReferralRead)
async def read_referral(referral_id: uuid.UUID, request: Request, response: Response,
                        session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep,
                        purpose: PurposeDep) -> ReferralRead:
    """One referral in full, with the child's identity; the read is written to the access log."""
    loaded = await guarded(session, principal, referral_id, Act.READ)
    await log_access(session, principal, action="read", operation="read_referral",
                     purpose=purpose or "case work", referral=loaded.row,
                     request_id=request_id_of(request))
    return reply(response, loaded, settings)


SummaryPage = Page[ReferralSummary]


@router.get("/v1/referrals", response_model=SummaryPage)
async def list_referrals(
    session: ReadingSessionDep, principal: CurrentPrincipal, settings: SettingsDep, page: PageQuery,
    school_urn: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    zone_id: uuid.UUID | None = None,
    status: Annotated[list[ReferralStatus] | None, Query()] = None,
    subject_kind: SubjectKind | None = None,
    need: SenPrimaryNeed | None = None,
    year_group: Annotated[str | None, Query(max_length=2)] = None,
    created_from: IsoDate | None = None,
    created_to: IsoDate | None = None,
    overdue: bool | None = None,
) -> Response:
    """Referrals the caller may see, newest first, without any child's identity."""
    require_any_role(principal, READ_ROLES)
    scope = await scope_of(session, principal)
    today = service.today(settings)
    tz = settings.referral_policy().timezone
    filters = ReferralFilters(
        school_urn=school_urn or None, zone_id=zone_id,
        statuses=tuple(s.value for s in status or ()),
        subject_kind=subject_kind.value if subject_kind else None,
        need=need.value if need else None,
        year_group=year_group.strip().upper() if year_group else None,
        created_from=datetime.combine(created_from, time(), tz) if created_from else None,
        created_before=(datetime.combine(created_to + timedelta(days=1), time(), tz)
                        if created_to else None),
        overdue=overdue)
    # PostgreSQL writes the page as SummaryPage's JSON (the documented model above).
    content = await referral_page(session, scope, filters, page, today=today)
    return Response(content, media_type="application/json")


@router.put("/v1/referrals/{referral_id}", response_model=ReferralRead)
async def amend_referral(referral_id: uuid.UUID, body: ReferralDetails, if_match: IfMatch,
                         request: Request, response: Response,
                         session: OneStatementSessionDep, principal: CurrentPrincipal,
                         settings: SettingsDep, purpose: PurposeDep) -> ReferralRead:
    """Replace a draft's details (only while it is a draft)."""
    loaded = await guarded(session, principal, referral_id, Act.DRAFT)
    check_if_match(if_match, loaded.row.version)
    await service.amend_draft(session, settings, loaded, body, AccessEntry(
        principal, "change", "amend_referral", purpose or "amend a draft referral",
        request_id_of(request)))
    return reply(response, loaded, settings)


# ------------------------------------------------------------------------------ transitions


async def transition(request: Request, response: Response, session: OneStatementSessionDep,
                     principal: Principal, settings: SettingsDep, referral_id: uuid.UUID,
                     if_match: str, act: Act, operation: str, purpose: str | None,
                     step: Callable[[Referral], ReferralChange],
                     context: RequestContext | None = None) -> ReferralRead:
    loaded = await guarded(session, principal, referral_id, act)
    check_if_match(if_match, loaded.row.version)
    change = step(loaded.referral)
    await service.apply_change(
        session, settings, loaded, change,
        context or RequestContext(traceparent=traceparent_of(request)),
        access=AccessEntry(principal, "change", operation,
                           purpose or operation.replace("_", " "), request_id_of(request)))
    return reply(response, loaded, settings, change.referral)


@router.post("/v1/referrals/{referral_id}/submit", response_model=ReferralRead)
async def submit_referral(referral_id: uuid.UUID, if_match: IfMatch, request: Request,
                          response: Response, session: OneStatementSessionDep,
                          principal: CurrentPrincipal, settings: SettingsDep,
                          purpose: PurposeDep) -> ReferralRead:
    """Submit a draft to the Team Around the School; triage falls due in working days."""
    policy = settings.referral_policy()
    return await transition(
        request, response, session, principal, settings, referral_id, if_match, Act.DRAFT,
        "submit_referral", purpose,
        lambda r: domain.submit(r, at=service.now(), policy=policy))


@router.post("/v1/referrals/{referral_id}/triage", response_model=ReferralRead)
async def triage_referral(referral_id: uuid.UUID, if_match: IfMatch, request: Request,
                          response: Response, session: OneStatementSessionDep, principal: CurrentPrincipal,
                          settings: SettingsDep, purpose: PurposeDep,
                          body: TriageIn | None = None) -> ReferralRead:
    """Record that a practitioner has triaged the submitted referral."""
    practitioner = (body.practitioner_id if body and body.practitioner_id
                    else service.practitioner_id_of(principal))
    return await transition(
        request, response, session, principal, settings, referral_id, if_match, Act.TRIAGE,
        "triage_referral", purpose,
        lambda r: domain.triage(r, practitioner_id=practitioner, at=service.now()))


@router.post("/v1/referrals/{referral_id}/accept", response_model=ReferralRead)
async def accept_referral(referral_id: uuid.UUID, body: AcceptIn, if_match: IfMatch,
                          request: Request, response: Response,
                          session: OneStatementSessionDep, principal: CurrentPrincipal,
                          settings: SettingsDep, purpose: PurposeDep) -> ReferralRead:
    """Accept a triaged referral with the support plan TAS agreed."""
    p = body.support_plan
    plan = SupportPlan(level=p.level, focus=p.focus, actions=tuple(p.actions),
                       practitioner_id=p.practitioner_id or service.practitioner_id_of(principal),
                       ep_hours=p.ep_hours, review_on=p.review_on)
    policy = settings.referral_policy()
    return await transition(
        request, response, session, principal, settings, referral_id, if_match, Act.TRIAGE,
        "accept_referral", purpose,
        lambda r: domain.accept(r, plan=plan, at=service.now(), policy=policy))


@router.post("/v1/referrals/{referral_id}/start-support", response_model=ReferralRead)
async def start_referral_support(referral_id: uuid.UUID, if_match: IfMatch, request: Request,
                                 response: Response, session: OneStatementSessionDep,
                                 principal: CurrentPrincipal, settings: SettingsDep,
                                 purpose: PurposeDep) -> ReferralRead:
    """Record that the agreed support has started."""
    return await transition(
        request, response, session, principal, settings, referral_id, if_match, Act.TRIAGE,
        "start_referral_support", purpose,
        lambda r: domain.start_support(r, at=service.now()))


@router.post("/v1/referrals/{referral_id}/close", response_model=ReferralRead)
async def close_referral(referral_id: uuid.UUID, body: CloseIn, if_match: IfMatch,
                         request: Request, response: Response,
                         session: OneStatementSessionDep, principal: CurrentPrincipal,
                         settings: SettingsDep, purpose: PurposeDep) -> ReferralRead:
    """Close a referral in support with its outcome."""
    return await transition(
        request, response, session, principal, settings, referral_id, if_match, Act.TRIAGE,
        "close_referral", purpose,
        lambda r: domain.close(r, outcome=body.outcome, note=body.note, at=service.now()))


@router.post("/v1/referrals/{referral_id}/decline", response_model=ReferralRead)
async def decline_referral(referral_id: uuid.UUID, body: DeclineIn, if_match: IfMatch,
                           request: Request, response: Response,
                           session: OneStatementSessionDep, principal: CurrentPrincipal,
                           settings: SettingsDep, purpose: PurposeDep) -> ReferralRead:
    """TAS declines a submitted or triaged referral, with a reason."""
    return await transition(
        request, response, session, principal, settings, referral_id, if_match, Act.TRIAGE,
        "decline_referral", purpose,
        lambda r: domain.decline(r, reason=body.reason, note=body.note, at=service.now()))


@router.post("/v1/referrals/{referral_id}/withdraw", response_model=ReferralRead)
async def withdraw_referral(referral_id: uuid.UUID, body: WithdrawIn, if_match: IfMatch,
                            request: Request, response: Response,
                            session: OneStatementSessionDep, principal: CurrentPrincipal,
                            settings: SettingsDep, purpose: PurposeDep) -> ReferralRead:
    """The school (or a local authority admin) withdraws a referral not yet in support."""
    by = (WithdrawnBy.LOCAL_AUTHORITY if principal.has_role(Role.la_admin)
          else WithdrawnBy.SCHOOL)
    return await transition(
        request, response, session, principal, settings, referral_id, if_match, Act.WITHDRAW,
        "withdraw_referral", purpose,
        lambda r: domain.withdraw(r, reason=body.reason, note=body.note, withdrawn_by=by,
                                  at=service.now()))


@router.post("/v1/referrals/{referral_id}/assignment", response_model=ReferralRead)
async def assign_practitioner(referral_id: uuid.UUID, body: AssignmentIn, if_match: IfMatch,
                              request: Request, response: Response, session: SessionDep,
                              principal: CurrentPrincipal, settings: SettingsDep,
                              purpose: PurposeDep) -> ReferralRead:
    """Assign the practitioner who works the referral (any status until it is finished)."""
    loaded = await guarded(session, principal, referral_id, Act.TRIAGE, for_update=True)
    check_if_match(if_match, loaded.row.version)
    service.assign_practitioner(loaded, body.practitioner_id)
    await session.flush()
    await log_access(session, principal, action="change", operation="assign_practitioner",
                     purpose=purpose or "assign a practitioner", referral=loaded.row,
                     request_id=request_id_of(request))
    return reply(response, loaded, settings)
