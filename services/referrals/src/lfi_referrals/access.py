"""Who may see and do what with a referral, and the access log of child records.

Object-level rules (DESIGN §4: a school never sees another school's child):

* ``school_staff`` see only referrals of the schools their token names (``school_urns``);
* ``tas_practitioner`` see only referrals of schools in their zones. The token's ``zones``
  claim holds zone *codes* (``north-norwich``, as ``make token ZONE=...`` issues) or zone ids;
  both are accepted;
* ``la_admin``, ``placements_officer`` and ``funding_officer`` see every referral (by role);
* anyone else sees none.

A referral the caller may not see is reported as not found (404), on every operation that takes
its id, so its existence is not leaked; a visible referral on which the caller's role may not
take an action is refused (403).

Every operation on a referral (read, change, export) writes one access-log row: who, their
roles, what, why (``X-Purpose`` header or ``purpose`` query parameter, else the operation's own
default purpose), when, the referral and the child.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import CTE, ColumnElement, bindparam, false, insert, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_referrals.db.models import AccessLogEntry, ReferralRow, Zone, table_of
from lfi_shared.auth.principal import Principal, Role
from lfi_shared.http.problems import Forbidden, NotFound

SEE_ALL_ROLES = frozenset({Role.la_admin, Role.placements_officer, Role.funding_officer})
READ_ROLES = SEE_ALL_ROLES | {Role.school_staff, Role.tas_practitioner}


class Act(StrEnum):
    """What a caller does to a referral; each names the roles allowed to."""

    READ = "read"
    DRAFT = "draft"  # create, amend, submit
    TRIAGE = "triage"  # triage, accept, start support, close, decline, assign, requests
    WITHDRAW = "withdraw"
    NOTE = "note"


ACT_ROLES: dict[Act, frozenset[Role]] = {
    Act.READ: READ_ROLES,
    Act.DRAFT: frozenset({Role.school_staff, Role.tas_practitioner, Role.la_admin}),
    Act.TRIAGE: frozenset({Role.tas_practitioner, Role.la_admin}),
    Act.WITHDRAW: frozenset({Role.school_staff, Role.la_admin}),
    Act.NOTE: frozenset({Role.school_staff, Role.tas_practitioner, Role.la_admin}),
}


@dataclass(frozen=True, slots=True)
class Scope:
    """The referrals a caller may see: everything, or these schools and zones."""

    everything: bool
    school_urns: frozenset[str]
    zone_ids: frozenset[UUID]

    def sees(self, school_urn: str, zone_id: UUID) -> bool:
        return self.everything or school_urn in self.school_urns or zone_id in self.zone_ids

    def school_and_zone_filter(self, school_col: ColumnElement[str],
                               zone_col: ColumnElement[UUID]) -> ColumnElement[bool]:
        """A WHERE clause keeping only what this scope sees."""
        if self.everything:
            return true()
        clauses: list[ColumnElement[bool]] = []
        if self.school_urns:
            clauses.append(school_col.in_(self.school_urns))
        if self.zone_ids:
            clauses.append(zone_col.in_(self.zone_ids))
        return or_(*clauses) if clauses else false()


async def zone_ids_named(session: AsyncSession, names: Iterable[str]) -> frozenset[UUID]:
    """The ids of the zones a token names by code or by id."""
    wanted = [n for n in names if n]
    if not wanted:
        return frozenset()
    ids = []
    for name in wanted:
        try:
            ids.append(UUID(name))
        except ValueError:
            continue
    rows = await session.scalars(select(Zone.id).where(or_(Zone.code.in_(wanted),
                                                           Zone.id.in_(ids))))
    return frozenset(rows)


async def scope_of(session: AsyncSession, principal: Principal,
                   roles: frozenset[Role] = READ_ROLES) -> Scope:
    """What ``principal`` sees through those of its roles in ``roles``."""
    held = principal.roles & roles
    everything = bool(held & SEE_ALL_ROLES)
    zones = (await zone_ids_named(session, principal.zones)
             if Role.tas_practitioner in held and not everything else frozenset())
    return _scope(principal, held, zones)


def _scope(principal: Principal, held: frozenset[Role], zone_ids: frozenset[UUID]) -> Scope:
    everything = bool(held & SEE_ALL_ROLES)
    return Scope(everything=everything,
                 school_urns=principal.school_urns if Role.school_staff in held else frozenset(),
                 zone_ids=zone_ids if Role.tas_practitioner in held and not everything
                 else frozenset())


def require_any_role(principal: Principal, roles: frozenset[Role]) -> None:
    """Refuse (403) a caller holding none of ``roles``."""
    if not principal.has_any_role(*roles):
        wanted = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"This needs one of the roles: {wanted}.")


async def authorise(session: AsyncSession, principal: Principal, act: Act, *,
                    school_urn: str, zone_id: UUID, not_found: str) -> None:
    """Check ``principal`` may ``act`` on a referral of ``school_urn`` in ``zone_id``.

    Raises:
        Forbidden: (403) the caller has no role that reads referrals at all.
        NotFound: (404, with ``not_found``) the caller may not see the referral.
        Forbidden: (403) the caller sees it but their role may not take this action there.
    """
    require_any_role(principal, READ_ROLES)
    held = principal.roles & READ_ROLES
    # The zones a token names are looked up once, for both questions.
    zones = (await zone_ids_named(session, principal.zones)
             if Role.tas_practitioner in held and not held & SEE_ALL_ROLES else frozenset())
    if not _scope(principal, held, zones).sees(school_urn, zone_id):
        raise NotFound(not_found)
    allowed = ACT_ROLES[act]
    if not _scope(principal, principal.roles & allowed, zones).sees(school_urn, zone_id):
        wanted = ", ".join(sorted(r.value for r in allowed))
        raise Forbidden(f"Only {wanted} may do this.")


_ACCESS_LOG = table_of(AccessLogEntry)
# One INSERT statement, built once (its compiled form is cached by SQLAlchemy); its parameters
# are named ``access_<column>``, so that it can ride on another statement as a CTE.
_ACCESS_VALUES = {column.key: bindparam(f"access_{column.key}", type_=column.type)
                  for column in _ACCESS_LOG.columns}
_APPEND_ACCESS = insert(_ACCESS_LOG).values(_ACCESS_VALUES)
ACCESS_LOGGED = _APPEND_ACCESS.cte("access_logged")
"""The access-log row as a data-modifying CTE, for a statement that makes a change and logs it
in one round trip (parameters: :meth:`AccessEntry.parameters`)."""


def access_logged_if(condition: ColumnElement[bool]) -> CTE:
    """:data:`ACCESS_LOGGED` written only where ``condition`` holds (say: the change it logs
    was made by the same statement). Build it once."""
    return (insert(_ACCESS_LOG)
            .from_select(list(_ACCESS_VALUES), select(*_ACCESS_VALUES.values()).where(condition))
            .cte("access_logged"))


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """An access-log row but for the referral it is about: who, their roles, what, why."""

    principal: Principal
    action: str
    operation: str
    purpose: str
    request_id: str | None = None

    def parameters(self, referral: ReferralRow | None = None,
                   child_id: UUID | None = None) -> dict[str, Any]:
        """The row's parameters (``access_<column>``), about ``referral`` as it now is."""
        return {
            "access_id": uuid4(), "access_at": datetime.now(UTC),
            "access_actor": self.principal.subject,
            "access_roles": sorted(r.value for r in self.principal.roles),
            "access_action": self.action, "access_operation": self.operation,
            "access_purpose": self.purpose,
            "access_referral_id": referral.id if referral is not None else None,
            "access_child_id": child_id if child_id is not None else (
                referral.child_id if referral is not None else None),
            "access_request_id": self.request_id}


async def log_access(session: AsyncSession, principal: Principal, *, action: str,
                     operation: str, purpose: str, referral: ReferralRow | None = None,
                     child_id: UUID | None = None, request_id: str | None = None) -> None:
    """Append one access-log row, in the request's transaction.

    A plain INSERT rather than an ORM object: the log is append-only and never read back in the
    request, so there is nothing for the unit of work to track.
    """
    entry = AccessEntry(principal, action, operation, purpose, request_id)
    await session.execute(_APPEND_ACCESS, entry.parameters(referral, child_id))
