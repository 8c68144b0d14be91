"""``/v1/funding/years``: the Element 3 budget of each financial year."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from lfi_funding.api.deps import (
    RESPONSES,
    ContextDep,
    YearDep,
    idempotency,
    manage,
    read_all,
)
from lfi_funding.api.representations import budget_read
from lfi_funding.db.models import Budget
from lfi_funding.schemas import (
    AdjustmentCreate,
    BudgetApprove,
    BudgetCreate,
    BudgetPage,
    BudgetRead,
    BudgetRevise,
)
from lfi_funding.service import budgets
from lfi_shared.http.concurrency import IfMatch, etag_for, set_etag
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey
from lfi_shared.http.pagination import PageQuery, keyset_page

router = APIRouter(prefix="/v1/funding/years", tags=["budgets"], responses=RESPONSES)


async def _read(ctx: ContextDep, row: Budget, response: Response) -> BudgetRead:
    set_etag(response, row.version)
    return budget_read(row, await budgets.adjustments_of(ctx.session, row))


@router.get("", response_model=BudgetPage, dependencies=[read_all])
async def list_budgets(session: SessionDep, page: PageQuery) -> BudgetPage:
    """Every year's budget, oldest first (the history back to 2020-21 is seeded)."""
    rows, next_cursor = await keyset_page(session, select(Budget), [Budget.start_year.expression], page)
    return BudgetPage(items=[budget_read(r, await budgets.adjustments_of(session, r))
                             for r in rows], next_cursor=next_cursor)


@router.post("/{fy}/budget", status_code=201, response_model=BudgetRead,
             dependencies=[manage])
async def create_budget(year: YearDep, body: BudgetCreate, ctx: ContextDep,
                        key: IdempotencyKey = None) -> Response:
    """Draft a year's budget: the total and its formula block (the rest is the cohort /
    whole-school block)."""
    async def create() -> CreatedResponse:
        row = await budgets.create_draft(ctx, year, total=body.total,
                                         formula_block=body.formula_block, note=body.note)
        return CreatedResponse(201, budget_read(row, []).model_dump(mode="json"),
                               {"ETag": etag_for(row.version),
                                "Location": f"/v1/funding/years/{year}/budget"})

    return await idempotency.run(ctx.session, key=key, owner=ctx.actor,
                                 operation=f"create_budget:{year}", payload=body, create=create)


@router.get("/{fy}/budget", response_model=BudgetRead, dependencies=[read_all])
async def read_budget(year: YearDep, ctx: ContextDep, response: Response) -> BudgetRead:
    return await _read(ctx, await budgets.load_budget(ctx.session, year), response)


@router.patch("/{fy}/budget", response_model=BudgetRead, dependencies=[manage])
async def revise_budget(year: YearDep, body: BudgetRevise, ctx: ContextDep, if_match: IfMatch,
                        response: Response) -> BudgetRead:
    """Change a draft's figures (409 once approved: adjust it instead)."""
    row = await budgets.revise_draft(ctx, year, if_match, total=body.total,
                                     formula_block=body.formula_block, note=body.note)
    return await _read(ctx, row, response)


@router.post("/{fy}/budget/approve", response_model=BudgetRead, dependencies=[manage])
async def approve_budget(year: YearDep, body: BudgetApprove, ctx: ContextDep,
                         if_match: IfMatch, response: Response) -> BudgetRead:
    """Approve the draft (emits ``lfi.funding.budget.approved.v1``)."""
    row = await budgets.approve_budget(ctx, year, if_match, body.approved_on)
    return await _read(ctx, row, response)


@router.post("/{fy}/budget/adjustments", response_model=BudgetRead, dependencies=[manage])
async def adjust_budget(year: YearDep, body: AdjustmentCreate, ctx: ContextDep,
                        if_match: IfMatch, response: Response) -> BudgetRead:
    """Add to (positive) or take from (negative) a block of an approved budget, with a
    reason; the cohort block can never fall below what is committed."""
    await budgets.adjust_budget(ctx, year, if_match, block=body.block, amount=body.amount,
                                reason=body.reason)
    return await _read(ctx, await budgets.load_budget(ctx.session, year), response)
