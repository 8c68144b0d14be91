"""The referral list's query: one statement per combination of filters, built once.

A list request only binds its values (the caller's schools and zones, the filters, the page):
no statement is assembled per request and SQLAlchemy reuses the compiled SQL. The rows are
plain columns (:data:`~lfi_referrals.service.views.SUMMARY_COLUMNS`), never ORM entities: a
page is read, not changed, and carries no child's identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Text, Uuid, and_, any_, bindparam, false, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_referrals.access import Scope
from lfi_referrals.db.models import ReferralRow, table_of
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.service.views import SUMMARY_COLUMNS
from lfi_shared.http.pagination import KeysetQuery, PageParams

_REFERRALS = table_of(ReferralRow)


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
def _query(shape: _Shape) -> KeysetQuery:
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
        late = and_(c.status == ReferralStatus.SUBMITTED.value,
                    c.triage_due_on < bindparam("today"))
        conditions.append(late if overdue else ~late)
    return KeysetQuery(select(*SUMMARY_COLUMNS).where(*conditions), [c.created_at, c.id],
                       descending=True)


async def referral_page(session: AsyncSession, scope: Scope, filters: ReferralFilters,
                        page: PageParams, *, today: date) -> tuple[list[Any], str | None]:
    """The page of referrals ``scope`` sees that match ``filters``, newest first, and the next
    page's cursor.

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
    return await query.page(session, page, values)
