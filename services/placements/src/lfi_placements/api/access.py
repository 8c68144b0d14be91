"""Who may see and do what in the placements service (object-level checks live here).

* ``placements_officer`` and ``la_admin`` manage everything;
* ``auditor`` reads everything;
* ``school_staff`` see only placements and requests of their own school's pupils (the home
  school, by URN): another school's are "not found" (404), so existence is not leaked;
* ``tas_practitioner`` see (and request) placements of children in their zones (the token's
  zones name a zone by code or id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_placements.db.models import Zone
from lfi_placements.service.context import UseCaseContext
from lfi_placements.settings import Settings
from lfi_shared.auth import Principal, Role, require_roles

MANAGERS = (Role.placements_officer, Role.la_admin)
READERS = (*MANAGERS, Role.auditor, Role.school_staff, Role.tas_practitioner)
EVERY_STAFF_ROLE = (*READERS, Role.funding_officer, Role.panel_member, Role.service_client)

Manager = Annotated[Principal, Depends(require_roles(*MANAGERS))]
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Staff = Annotated[Principal, Depends(require_roles(*EVERY_STAFF_ROLE))]
Requester = Annotated[Principal, Depends(require_roles(*MANAGERS, Role.tas_practitioner))]


def sees_everything(principal: Principal) -> bool:
    return principal.has_any_role(*MANAGERS, Role.auditor)


async def zone_ids_of(session: AsyncSession, principal: Principal) -> set[UUID]:
    """The zones a principal's token names (by code or by id)."""
    ids: set[UUID] = set()
    codes: list[str] = []
    for zone in principal.zones:
        try:
            ids.add(uuid.UUID(zone))
        except ValueError:
            codes.append(zone)
    if codes:
        rows = await session.execute(select(Zone.id).where(Zone.code.in_(codes)))
        ids.update(r.id for r in rows)
    return ids


async def visibility(session: AsyncSession, principal: Principal, *,
                     home_school_urn: Any, zone_id: Any) -> ColumnElement[bool]:
    """A WHERE clause keeping only the rows the principal may see."""
    if sees_everything(principal):
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.has_role(Role.school_staff) and principal.school_urns:
        clauses.append(home_school_urn.in_(sorted(principal.school_urns)))
    if principal.has_role(Role.tas_practitioner):
        zones = await zone_ids_of(session, principal)
        if zones:
            clauses.append(zone_id.in_(sorted(zones)))
    return or_(*clauses) if clauses else false()


async def may_see(session: AsyncSession, principal: Principal, *, home_school_urn: str,
                  zone_id: UUID | None) -> bool:
    """Whether the principal may see a child's request or placement."""
    if sees_everything(principal):
        return True
    if principal.has_role(Role.school_staff) and principal.can_act_for_school(home_school_urn):
        return True
    if principal.has_role(Role.tas_practitioner) and zone_id is not None:
        return zone_id in await zone_ids_of(session, principal)
    return False


async def use_case_context(request: Request) -> Callable[[Principal], UseCaseContext]:
    # Async though it awaits nothing: FastAPI runs a plain function dependency in a worker
    # thread, a hop that costs more than this does.
    settings: Settings = request.app.state.settings

    def make(principal: Principal) -> UseCaseContext:
        return UseCaseContext(settings=settings, actor=principal.subject,
                              correlation_id=request.headers.get("x-correlation-id"),
                              traceparent=request.headers.get("traceparent"))
    return make


ContextFactory = Annotated[Callable[[Principal], UseCaseContext], Depends(use_case_context)]

__all__: Sequence[str] = [
    "ContextFactory", "Manager", "Reader", "Requester", "Staff", "may_see", "visibility",
]
