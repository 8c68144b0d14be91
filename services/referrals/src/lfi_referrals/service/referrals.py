"""Referral use cases: load → domain → persist → outbox. Never commit: the request's session
does (or, for a change written with one statement, that statement commits on its own).

Decisions where the design is silent:

* A child keeps one ``child_id`` across referrals: a new child referral whose UPN matches a
  referral not yet anonymised reuses that referral's ``child_id`` (placements relies on it to
  stop a child holding two placements at once); otherwise a new opaque id is made.
* The referring school is the child's home school.
* Practitioner ids are UUIDs (Entra ID object ids); a token whose subject is not a UUID stands
  for the UUID5 of its subject, so tests and local tokens work the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_referrals.access import ACCESS_LOGGED, AccessEntry, access_logged_if
from lfi_referrals.db.mapping import referral_from_rows, write_referral
from lfi_referrals.db.models import (
    Element3ReviewRow,
    PlacementRequestRow,
    ReferralRow,
    School,
    platform,
    table_of,
)
from lfi_referrals.domain import referral as domain
from lfi_referrals.domain.census import Exclusion, SenProvision, check_exclusions
from lfi_referrals.domain.errors import Fault, InvalidReferral, TransitionNotAllowed
from lfi_referrals.domain.lifecycle import FINAL_STATUSES, ReferralStatus
from lfi_referrals.domain.referral import DraftDetails, Referral, ReferralChange
from lfi_referrals.domain.subjects import (
    MIN_COHORT_PUPILS,
    ChildIdentity,
    ChildSubject,
    CohortSubject,
    ReferralSubject,
    SubjectKind,
    WholeSchoolSubject,
)
from lfi_referrals.domain.support import ParentalAgreement, PlacementPriority
from lfi_referrals.messaging.publishing import RequestContext, referral_event_parameters
from lfi_referrals.schemas.referrals import (
    Element3ReviewIn,
    ParentalAgreementIn,
    PlacementRequestIn,
    ReferralCreate,
    ReferralDetails,
)
from lfi_referrals.settings import Settings
from lfi_shared.auth.principal import Principal
from lfi_shared.http.concurrency import etag_for
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyClaim, IdempotencyStore
from lfi_shared.http.problems import FieldError, InvalidRequest, NotFound, PreconditionFailed
from lfi_shared.messaging.outbox import notify_relay, recording_cte

NOT_FOUND = "No referral with this id."
IDEMPOTENCY = IdempotencyStore(platform.idempotency)
"""The service's idempotent creates (``idempotency_keys``)."""
_ = MIN_COHORT_PUPILS  # the cohort rule lives in the domain


def now() -> datetime:
    return datetime.now(UTC)


def practitioner_id_of(principal: Principal) -> uuid.UUID:
    """The caller as a practitioner id (see the module docstring)."""
    try:
        return uuid.UUID(principal.subject)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"lfi:subject:{principal.subject}")


@dataclass(slots=True)
class LoadedReferral:
    row: ReferralRow
    placements: list[PlacementRequestRow]
    reviews: list[Element3ReviewRow]

    @property
    def referral(self) -> Referral:
        return referral_from_rows(self.row, self.placements, self.reviews)


# The referral with two flags saying whether it has request rows: most have none, and then one
# statement loads everything.
_LOAD_REFERRAL = select(
    ReferralRow,
    exists().where(PlacementRequestRow.referral_id == ReferralRow.id).label("has_placements"),
    exists().where(Element3ReviewRow.referral_id == ReferralRow.id).label("has_reviews"),
).where(ReferralRow.id == bindparam("referral_id"))
_LOAD_REFERRAL_FOR_UPDATE = _LOAD_REFERRAL.with_for_update(of=ReferralRow)


async def load_referral(session: AsyncSession, referral_id: uuid.UUID, *,
                        for_update: bool = False) -> LoadedReferral:
    """The referral and its request rows.

    Raises:
        NotFound: no referral has this id.
    """
    stmt = _LOAD_REFERRAL_FOR_UPDATE if for_update else _LOAD_REFERRAL
    found = (await session.execute(stmt, {"referral_id": referral_id})).one_or_none()
    if found is None:
        raise NotFound(NOT_FOUND)
    row, has_placements, has_reviews = found
    placements = list(await session.scalars(
        select(PlacementRequestRow).where(PlacementRequestRow.referral_id == referral_id)
    )) if has_placements else []
    reviews = list(await session.scalars(
        select(Element3ReviewRow).where(Element3ReviewRow.referral_id == referral_id)
    )) if has_reviews else []
    return LoadedReferral(row=row, placements=placements, reviews=reviews)


def _agreement(body: ParentalAgreementIn | None) -> ParentalAgreement | None:
    if body is None:
        return None
    return ParentalAgreement(relationship=body.given_by, agreed_on=body.agreed_on)


_REFERRALS = table_of(ReferralRow)
# Every column as a parameter named ``referral_<column>``: the statements below write a whole
# row (see :func:`_row_parameters`), with other rows riding on them as CTEs.
_ROW_VALUES = {column.key: bindparam(f"referral_{column.key}", type_=column.type)
               for column in _REFERRALS.columns}
_INSERT_REFERRAL = insert(_REFERRALS).values(_ROW_VALUES)
_CHILD_ID_OF_UPN = (
    select(_REFERRALS.c.child_id)
    .where(_REFERRALS.c.child_upn == bindparam("upn"), _REFERRALS.c.child_id.is_not(None),
           _REFERRALS.c.anonymised_at.is_(None))
    .order_by(_REFERRALS.c.created_at).limit(1))


async def _child_id_for(session: AsyncSession, upn: str, current: uuid.UUID | None) -> uuid.UUID:
    existing = (await session.scalars(_CHILD_ID_OF_UPN, {"upn": upn})).first()
    return existing or current or uuid.uuid4()


def _subject(body: ReferralDetails, settings: Settings,
             child_id: uuid.UUID | None) -> ReferralSubject:
    """The subject ``body`` describes; a child one gets ``child_id`` (see :func:`_child_id_for`).

    Raises:
        InvalidReferral: the parts do not fit the subject kind, or the child's facts break a
            rule.
    """
    errors: list[FieldError] = []
    kinds = {SubjectKind.CHILD: body.child, SubjectKind.COHORT: body.cohort,
             SubjectKind.WHOLE_SCHOOL: body.whole_school}
    for kind, part in kinds.items():
        field = f"body.{kind.value}"
        if kind is body.subject_kind and part is None:
            errors.append(Fault("missing", f"A {kind.value.replace('_', ' ')} referral needs "
                                           f"'{kind.value}'.").at(field))
        elif kind is not body.subject_kind and part is not None:
            errors.append(Fault("not_for_subject", f"Only a {kind.value.replace('_', ' ')} "
                                                   "referral has this.").at(field))
    if errors:
        raise InvalidReferral("The referral is not valid.", errors=errors)
    if body.child is not None:
        child = body.child
        check_exclusions([Exclusion(kind=e.kind, school_days=e.school_days)
                          for e in child.exclusions],
                         cap_school_days=settings.suspension_cap_school_days,
                         field="body.child.exclusions")
        if child.secondary_need is not None and (
                child.sen_provision is SenProvision.NO_SEN
                or child.secondary_need == child.primary_need):
            raise InvalidReferral("The referral is not valid.", errors=[Fault(
                "secondary_need", "A secondary need is for a child with SEN and differs from "
                                  "the primary need.").at("body.child.secondary_need")])
        assert child_id is not None, "a child subject needs the child's id"
        return ChildSubject(
            child_id=child_id,
            identity=ChildIdentity(given_name=child.given_name, family_name=child.family_name,
                                   date_of_birth=child.date_of_birth, upn=child.upn),
            year_group=child.year_group, sen_provision=child.sen_provision,
            primary_need=child.primary_need)
    if body.cohort is not None:
        return CohortSubject(description=body.cohort.description,
                             year_groups=frozenset(body.cohort.year_groups),
                             pupil_count=body.cohort.pupil_count,
                             primary_needs=frozenset(body.cohort.primary_needs))
    return WholeSchoolSubject()


def _details(body: ReferralDetails, subject: ReferralSubject) -> DraftDetails:
    return DraftDetails(subject=subject, support_requested=frozenset(body.support_requested),
                        concerns=body.concerns, parental_agreement=_agreement(body.parental_agreement))


def _write_service_columns(row: ReferralRow, body: ReferralDetails) -> None:
    """The columns the domain does not model."""
    child = body.child
    row.secondary_need = child.secondary_need.value if child and child.secondary_need else None
    if child is not None:
        row.needs = [need for need in (row.primary_need, row.secondary_need) if need]
    row.exclusions = [
        {"kind": e.kind.value, "start_on": e.start_on.isoformat(),
         "school_days": str(e.school_days) if e.school_days is not None else None}
        for e in (child.exclusions if child else [])]
    row.focus_area = body.whole_school.focus_area if body.whole_school else None
    row.already_tried = body.already_tried


@dataclass(frozen=True, slots=True)
class SchoolRef:
    """What a referral takes from the school it is about: its URN and its zone."""

    urn: str
    zone_id: uuid.UUID


_SCHOOLS = table_of(School)
_SCHOOL_REF = select(_SCHOOLS.c.urn, _SCHOOLS.c.zone_id).where(
    _SCHOOLS.c.urn == bindparam("urn"))


async def school_of(session: AsyncSession, urn: str) -> SchoolRef:
    """The school ``urn`` of the register.

    Raises:
        InvalidRequest: no such school on the register.
    """
    found = (await session.execute(_SCHOOL_REF, {"urn": urn})).one_or_none()
    if found is None:
        raise _unknown_school()
    return SchoolRef(urn=found.urn, zone_id=found.zone_id)


def _unknown_school() -> InvalidRequest:
    return InvalidRequest("The school is not on the register.", errors=[
        FieldError(field="body.school_urn", message="No school with this URN is on the "
                                                    "register.", code="unknown_school")])


@dataclass(frozen=True, slots=True)
class DraftContext:
    """What a new referral needs to know first: its school, the id its child (if a child
    referral) already has from an earlier referral, and what is stored for the create's
    idempotency key (``None``: nothing, or no key)."""

    school: SchoolRef
    known_child_id: uuid.UUID | None
    stored_answer: dict[str, Any] | None = None


# The school and the child's id in one statement: a create makes one round trip fewer; with
# an Idempotency-Key, what is stored for the key comes with them.
_DRAFT_CONTEXT = select(
    _SCHOOLS.c.urn, _SCHOOLS.c.zone_id,
    _CHILD_ID_OF_UPN.scalar_subquery().label("known_child_id"),
).where(_SCHOOLS.c.urn == bindparam("urn"))
_DRAFT_CONTEXT_OF_KEY = IDEMPOTENCY.with_stored_answer(_DRAFT_CONTEXT)


async def draft_context(session: AsyncSession, body: ReferralCreate,
                        claim: IdempotencyClaim | None = None) -> DraftContext:
    """The school ``body`` refers from, the id its child already has (or ``None``), and with
    a ``claim``, what is stored for its key.

    Raises:
        InvalidRequest: no such school on the register.
    """
    upn = body.child.upn if body.child is not None else None
    parameters: dict[str, Any] = {"urn": body.school_urn, "upn": upn}
    if claim is None:
        found = (await session.execute(_DRAFT_CONTEXT, parameters)).one_or_none()
    else:
        found = (await session.execute(_DRAFT_CONTEXT_OF_KEY,
                                       parameters | claim.parameters())).one_or_none()
    if found is None:
        raise _unknown_school()
    return DraftContext(school=SchoolRef(urn=found.urn, zone_id=found.zone_id),
                        known_child_id=found.known_child_id,
                        stored_answer=found.idempotency_answer if claim is not None else None)


def draft_row(settings: Settings, principal: Principal, body: ReferralCreate, *,
              context: DraftContext) -> ReferralRow:
    """The row of a new draft referral of the school's (not written yet).

    Raises:
        InvalidReferral: the content breaks a rule (each field named).
    """
    at = now()
    school = context.school
    subject = _subject(body, settings, context.known_child_id or uuid.uuid4())
    change = domain.draft_referral(referral_id=uuid.uuid4(), school_urn=school.urn,
                                   zone_id=school.zone_id, details=_details(body, subject),
                                   at=at, policy=settings.referral_policy())
    row = ReferralRow(version=1, created_by=principal.subject, exclusions=[], needs=[],
                      year_groups=[], support_requested=[], updated_at=at)
    write_referral(row, change.referral)
    _write_service_columns(row, body)
    return row


def _row_parameters(row: ReferralRow) -> dict[str, Any]:
    """Every column of ``row`` as the parameters of :data:`_ROW_VALUES`."""
    values = row.__dict__  # what the row holds, read without the instrumentation
    return {f"referral_{key}": values[key] if key in values else getattr(row, key)
            for key in _ROW_VALUES}


# A draft is one INSERT with its access-log row riding on it; with an Idempotency-Key, both
# ride on the statement claiming the key with its answer, and are written only if it claimed
# it. One statement either way: the draft is written whole or not at all, even outside a
# transaction. The unit of work is not used: nothing else in the request changes the new
# referral, so it would track it for nothing (and its flush costs more than the statement).
# The row object stays outside the session, a record of what was written.
_INSERT_DRAFT = _INSERT_REFERRAL.add_cte(ACCESS_LOGGED)
_INSERT_DRAFT_CLAIMING = IDEMPOTENCY.storing(
    insert(_REFERRALS).from_select(list(_ROW_VALUES), select(*_ROW_VALUES.values())
                                   .where(IDEMPOTENCY.claimed)).cte("new_referral"),
    access_logged_if(IDEMPOTENCY.claimed))


async def insert_draft(session: AsyncSession, row: ReferralRow, access: AccessEntry, *,
                       answer: tuple[IdempotencyClaim, CreatedResponse] | None = None) -> bool:
    """Write the draft ``row`` and its access-log row in one statement; with an ``answer``,
    only if that statement claims the create's idempotency key (storing the answer with it).
    Whether they were written (if not, another request claimed the key first)."""
    parameters = _row_parameters(row) | access.parameters(row)
    if answer is None:
        await session.execute(_INSERT_DRAFT, parameters)
        return True
    claim, created = answer
    stored = await session.execute(_INSERT_DRAFT_CLAIMING,
                                   parameters | claim.answer_parameters(created))
    return bool(stored.scalar_one())


async def create_draft(session: AsyncSession, settings: Settings, principal: Principal,
                       body: ReferralCreate, *, context: DraftContext,
                       access: AccessEntry) -> ReferralRow:
    """Start a draft referral of the school's (no event: a draft is the school's own), with
    its access-log row.

    Raises:
        InvalidReferral: the content breaks a rule (each field named).
    """
    row = draft_row(settings, principal, body, context=context)
    await insert_draft(session, row, access)
    return row


async def amend_draft(session: AsyncSession, settings: Settings, loaded: LoadedReferral,
                      body: ReferralDetails, access: AccessEntry) -> None:
    """Replace a draft's details.

    Raises:
        TransitionNotAllowed: the referral is no longer a draft.
        InvalidReferral: the content breaks a rule.
    """
    current = loaded.referral
    child_id = (await _child_id_for(session, body.child.upn, current.child_id)
                if body.child is not None else None)
    subject = _subject(body, settings, child_id)
    change = domain.amend_draft(current, details=_details(body, subject), at=now(),
                                policy=settings.referral_policy())
    await apply_change(session, settings, loaded, change, RequestContext(), access=access,
                       details=body)


# A change is one statement: the row's new version, guarded by the version it was loaded at,
# and only if that was still the stored one, its events in the outbox (and the relay's
# NOTIFY) and the access-log row. So the change is whole or not at all, even outside a
# transaction, and without a row lock held between the load and the write. Every column but
# the id is written, so that it is the same statement (prepared once per connection) for
# every transition.
_CHANGED = (
    update(_REFERRALS)
    .where(_REFERRALS.c.id == bindparam("referral_id"),
           _REFERRALS.c.version == bindparam("loaded_version"))
    .values({key: value for key, value in _ROW_VALUES.items() if key != "id"})
    .returning(_REFERRALS.c.id)
    .cte("changed")
)
_WAS_CHANGED = select(_CHANGED.c.id).exists()
_STORE_CHANGE = select(
    _WAS_CHANGED.label("changed"),
    notify_relay(recording_cte(platform.messaging.outbox, only_if=_WAS_CHANGED))
    .scalar_subquery().label("notified"),
).add_cte(access_logged_if(_WAS_CHANGED))
_STORED_VERSION = select(_REFERRALS.c.version).where(_REFERRALS.c.id == bindparam("referral_id"))


async def apply_change(session: AsyncSession, settings: Settings, loaded: LoadedReferral,
                       change: ReferralChange, context: RequestContext, *,
                       access: AccessEntry, details: ReferralDetails | None = None) -> None:
    """Store a change's result (a new version), write its events to the outbox and its
    access-log row, in one statement, if the stored referral is still the loaded version.
    ``details`` are the service's own columns of an amended draft.

    Raises:
        PreconditionFailed: the referral changed since it was loaded (nothing is written; the
            problem names the current ETag, as for a stale ``If-Match``).
        NotFound: it is no longer there.
    """
    row = loaded.row
    # The statement writes the row: the unit of work must not flush it again.
    if row in session:
        session.expunge(row)
    loaded_version = row.version
    write_referral(row, change.referral)
    if details is not None:
        _write_service_columns(row, details)
    row.version = loaded_version + 1
    row.updated_at = now()
    parameters = (_row_parameters(row) | access.parameters(row)
                  | referral_event_parameters(settings, change.referral, change.events, context))
    parameters["loaded_version"] = loaded_version
    if (await session.execute(_STORE_CHANGE, parameters)).one().changed:
        return
    # Another change was stored in between (only possible where the load took no row lock).
    current = await session.scalar(_STORED_VERSION, {"referral_id": row.id})
    if current is None:
        raise NotFound(NOT_FOUND)
    raise PreconditionFailed(
        "The resource has changed since you read it; read it again and retry.",
        extra={"current_etag": etag_for(current)})


def assign_practitioner(loaded: LoadedReferral, practitioner_id: uuid.UUID) -> None:
    """Assign the practitioner working the referral (a new version; no event).

    Raises:
        TransitionNotAllowed: the referral is a draft or finished.
    """
    status = ReferralStatus(loaded.row.status)
    if status is ReferralStatus.DRAFT or status in FINAL_STATUSES:
        raise TransitionNotAllowed(
            f"Cannot assign a practitioner to a referral that is {status.value}.",
            extra={"current_status": status.value, "action": "assign"})
    loaded.row.assigned_practitioner_id = practitioner_id
    loaded.row.version += 1
    loaded.row.updated_at = now()


async def record_placement_request(session: AsyncSession, loaded: LoadedReferral, *,
                                   request_id: uuid.UUID, body: PlacementRequestIn,
                                   priority: PlacementPriority, requested_start: date,
                                   at: datetime, by: str) -> None:
    row = PlacementRequestRow(request_id=request_id, referral_id=loaded.row.id,
                              provision_type=body.provision_type.value,
                              priority=priority.value, requested_start=requested_start,
                              requested_at=at, requested_by=by)
    session.add(row)
    loaded.placements.append(row)
    await session.flush()


async def record_element3_review(session: AsyncSession, loaded: LoadedReferral, *,
                                 request_id: uuid.UUID, body: Element3ReviewIn, at: datetime,
                                 by: str) -> None:
    row = Element3ReviewRow(request_id=request_id, referral_id=loaded.row.id,
                            amount_requested_pence=pence_of(body.amount_requested),
                            focus=body.focus,
                            needs_profile={k.value: v for k, v in body.needs_profile.items()},
                            requested_at=at, requested_by=by)
    session.add(row)
    loaded.reviews.append(row)
    await session.flush()


def pence_of(pounds: str | None) -> int | None:
    if pounds is None:
        return None
    return int((Decimal(pounds) * 100).to_integral_value())


def pounds_of(pence: int | None) -> str | None:
    if pence is None:
        return None
    return f"{Decimal(pence) / 100:.2f}"


def today(settings: Settings) -> date:
    return settings.referral_policy().local_date(now())


def exclusion_rows(row: ReferralRow) -> list[dict[str, Any]]:
    return list(row.exclusions or [])
