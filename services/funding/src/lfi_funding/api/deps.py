"""Dependencies of the funding endpoints: the unit-of-work context, the year in the path, roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from lfi_funding.db.models import platform
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.service.context import Clock, FundingContext, system_clock
from lfi_shared.auth import CurrentPrincipal, Role, require_roles
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.idempotency import IdempotencyStore
from lfi_shared.http.problems import PROBLEM_RESPONSES

idempotency = IdempotencyStore(platform.idempotency)

MANAGERS = (Role.funding_officer, Role.la_admin)
READERS = (Role.funding_officer, Role.panel_member, Role.la_admin, Role.auditor)
SCHOOL_READERS = (*READERS, Role.school_staff)

manage = Depends(require_roles(*MANAGERS))
read_all = Depends(require_roles(*READERS))
read_own_school = Depends(require_roles(*SCHOOL_READERS))
decide = Depends(require_roles(Role.panel_member))

RESPONSES = {**PROBLEM_RESPONSES, 404: {"description": "Not found"},
             409: {"description": "Conflicts with the current state"},
             412: {"description": "If-Match does not match"},
             428: {"description": "If-Match is required"}}


def clock_of(request: Request) -> Clock:
    clock: Clock = getattr(request.app.state, "clock", system_clock)
    return clock


async def funding_context(request: Request, session: SessionDep,
                          principal: CurrentPrincipal) -> FundingContext:
    trace = getattr(request.state, "trace", None)
    return FundingContext(session=session, settings=request.app.state.settings,
                          actor=principal.subject, now=clock_of(request)(),
                          traceparent=trace.traceparent if trace is not None else None)


ContextDep = Annotated[FundingContext, Depends(funding_context)]


async def financial_year(fy: Annotated[str, Path(
        description='The financial year, e.g. "2025-26" (1 April 2025 to 31 March 2026).',
        examples=["2025-26"], max_length=7)]) -> FinancialYear:
    return FinancialYear.parse(fy, field="path.fy")


YearDep = Annotated[FinancialYear, Depends(financial_year)]
