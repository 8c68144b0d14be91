"""The referral list's query: one statement per combination of filters, built once.

A list request only binds its values (the caller's schools and zones, the filters, the page):
no statement is assembled per request and SQLAlchemy reuses the compiled SQL. PostgreSQL
writes the page's JSON itself (:data:`SUMMARY_JSON`, each item as
:class:`~lfi_referrals.schemas.referrals.ReferralSummary` is written), so the service neither
decodes nor serialises a row: a page is read, not changed, and carries no child's identity
(only the columns of :data:`~lfi_referrals.service.views.SUMMARY_COLUMNS` are written).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Numeric,
    Text,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_referrals.access import Scope
from lfi_referrals.db.models import ReferralRow, table_of
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.service.views import SUMMARY_COLUMNS
from lfi_shared.http.pagination import (
    KeysetJsonQuery,
    PageParams,
    json_bool,
    json_date,
    json_datetime,
    json_number,
    json_object,
    json_string,
    json_text_array,
    json_uuid,
    sql_text,
)

_REFERRALS = table_of(ReferralRow)
_TODAY = bindparam("today", type_=Date)


def _overdue() -> ColumnElement[bool]:
    """Triage is overdue on ``today`` (as :func:`~lfi_referrals.service.views.is_overdue`)."""
    c = _REFERRALS.c
    return and_(c.status == ReferralStatus.SUBMITTED.value, c.triage_due_on < _TODAY)


def _member(document: ColumnElement[Any], name: str) -> ColumnElement[str]:
    """A member of a JSONB column as it is stored (JSON text), ``null`` when absent."""
    return func.coalesce(cast(document.op("->")(sql_text(name)), Text), sql_text("null"))


def _stored_datetime(document: ColumnElement[Any], name: str) -> ColumnElement[str]:
    """A datetime stored as Python's ``isoformat()`` text, written as pydantic writes it
    once read back (the same digits; a zero offset as ``Z``)."""
    text = document.op("->>")(sql_text(name))
    return json_string(func.regexp_replace(text, sql_text("[+]00:00$"), sql_text("Z")))


def _shown(document: ColumnElement[Any], members: list[tuple[str, ColumnElement[str]]]
           ) -> ColumnElement[str]:
    """An outcome shown (a JSON object), else ``null`` (nothing stored)."""
    return case((func.jsonb_typeof(document) == sql_text("object"), json_object(members)),
                else_=sql_text("null"))


def _summary_json() -> ColumnElement[str]:
    # Only the columns a summary shows: a name outside SUMMARY_COLUMNS fails here, at import.
    c = {column.key: column for column in SUMMARY_COLUMNS}
    p, f = c["shown_placement"], c["shown_funding"]
    # pounds_of: the pence as pounds, two decimals.
    pence = cast(f.op("->>")(sql_text("awarded_pence")), Numeric)
    placement = _shown(p, [
        ("status", _member(p, "status")), ("request_id", _member(p, "request_id")),
        ("provision_id", _member(p, "provision_id")), ("starts_on", _member(p, "starts_on")),
        ("ends_on", _member(p, "ends_on")), ("end_reason", _member(p, "end_reason")),
        ("as_of", _stored_datetime(p, "as_of"))])
    funding = _shown(f, [
        ("status", _member(f, "status")), ("application_id", _member(f, "application_id")),
        ("amount_awarded", json_string(cast(func.round(
            pence / literal_column("100", Numeric), literal_column("2", Integer)), Text))),
        ("as_of", _stored_datetime(f, "as_of"))])
    return json_object([
        ("id", json_uuid(c["id"])), ("school_urn", json_string(c["school_urn"])),
        ("zone_id", json_uuid(c["zone_id"])), ("subject_kind", json_string(c["subject_kind"])),
        ("status", json_string(c["status"])), ("child_id", json_uuid(c["child_id"])),
        ("year_groups", json_text_array(c["year_groups"])),
        ("needs", json_text_array(c["needs"])),
        ("support_requested", json_text_array(c["support_requested"])),
        ("submitted_at", json_datetime(c["submitted_at"])),
        ("triage_due_on", json_date(c["triage_due_on"])), ("overdue", json_bool(_overdue())),
        ("assigned_practitioner_id", json_uuid(c["assigned_practitioner_id"])),
        ("shown", json_object([("placement", placement), ("funding", funding)])),
        ("created_at", json_datetime(c["created_at"])),
        ("updated_at", json_datetime(c["updated_at"])), ("version", json_number(c["version"]))])


SUMMARY_JSON = _summary_json()
"""The JSON of a :class:`~lfi_referrals.schemas.referrals.ReferralSummary` of a referral, as
pydantic writes it (``overdue`` on the bound ``today``)."""


@dataclass(frozen=True, slots=True)
class ReferralFilters:
    """What a list of referrals is narrowed to (``None`` or empty: not narrowed)."""

    school_urn: str | None = None
    zone_id: UUID | None = None
    statuses: tuple[str, ...] = ()
    subject_kind: str | None = None
    need: str | None = None
    year_group: str | None = None
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    overdue: bool | None = None  # triage overdue on ``today`` (or not)


# Which of the statement's conditions apply: the scope's three shapes, then each filter.
_Shape = tuple[bool, bool, bool, bool, bool, bool, bool, bool, bool, bool, bool, bool | None]


def _shape(scope: Scope, f: ReferralFilters) -> _Shape:
    return (scope.everything, bool(scope.school_urns), bool(scope.zone_ids),
            f.school_urn is not None, f.zone_id is not None, bool(f.statuses),
            f.subject_kind is not None, f.need is not None, f.year_group is not None,
            f.created_from is not None, f.created_before is not None, f.overdue)


@lru_cache(maxsize=256)
def _query(shape: _Shape) -> KeysetJsonQuery:
    (everything, by_urn, by_zone, school, zone, statuses, kind, need, year, created_from,
     created_before, overdue) = shape
    c = _REFERRALS.c
    conditions: list[ColumnElement[bool]] = []
    # Sets of values are bound as one array each (= ANY): the SQL is the same however many.
    if not everything:
        seen: list[ColumnElement[bool]] = []
        if by_urn:
            seen.append(c.school_urn == any_(bindparam("scope_urns", type_=ARRAY(Text))))
        if by_zone:
            seen.append(c.zone_id == any_(bindparam("scope_zones", type_=ARRAY(Uuid))))
        conditions.append(or_(*seen) if seen else false())
    if school:
        conditions.append(c.school_urn == bindparam("school_urn"))
    if zone:
        conditions.append(c.zone_id == bindparam("zone_id"))
    if statuses:
        conditions.append(c.status == any_(bindparam("statuses", type_=ARRAY(Text))))
    if kind:
        conditions.append(c.subject_kind == bindparam("subject_kind"))
    if need:
        conditions.append(c.needs.contains(bindparam("needs")))
    if year:
        conditions.append(c.year_groups.contains(bindparam("year_groups")))
    if created_from:
        conditions.append(c.created_at >= bindparam("created_from"))
    if created_before:
        conditions.append(c.created_at < bindparam("created_before"))
    if overdue is not None:
        conditions.append(_overdue() if overdue else ~_overdue())
    return KeysetJsonQuery(select(c.id).where(*conditions), [c.created_at, c.id], SUMMARY_JSON,
                           descending=True)


async def referral_page(session: AsyncSession, scope: Scope, filters: ReferralFilters,
                        page: PageParams, *, today: date) -> bytes:
    """The JSON of the page of referrals ``scope`` sees that match ``filters``, newest first
    (a :class:`~lfi_shared.http.pagination.Page` of summaries, with the next page's cursor).

    Raises:
        InvalidRequest: the cursor is not one this list gave out.
    """
    f = filters
    values: dict[str, Any] = {
        "scope_urns": sorted(scope.school_urns), "scope_zones": sorted(scope.zone_ids),
        "school_urn": f.school_urn, "zone_id": f.zone_id, "statuses": list(f.statuses),
        "subject_kind": f.subject_kind, "needs": [f.need], "year_groups": [f.year_group],
        "created_from": f.created_from, "created_before": f.created_before, "today": today,
    }
    query = _query(_shape(scope, f))
    return await query.page_json(session, page, values)
