"""Budgets: drafted, revised while draft, approved (emits ``BudgetApproved``), then adjusted only
with a recorded reason. Every change takes the budget row ``FOR UPDATE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts.funding import BudgetApproved
from lfi_funding.db.models import Budget, BudgetAdjustment
from lfi_funding.domain.budget import BudgetAdjustment as DomainAdjustment
from lfi_funding.domain.budget import BudgetBlock, BudgetStatus, Element3Budget
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.money import parse_pounds, pounds_str
from lfi_funding.service.context import FundingContext
from lfi_shared.http.concurrency import check_if_match
from lfi_shared.http.problems import Conflict, NotFound


async def find_budget(session: AsyncSession, year: FinancialYear, *,
                      for_update: bool = False) -> Budget | None:
    stmt = select(Budget).where(Budget.financial_year == year.label)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def load_budget(session: AsyncSession, year: FinancialYear, *,
                      for_update: bool = False) -> Budget:
    """The budget of ``year``; raises :class:`NotFound` when none is drafted."""
    budget = await find_budget(session, year, for_update=for_update)
    if budget is None:
        raise NotFound(f"No Element 3 budget is drafted for {year}.")
    return budget


async def adjustments_of(session: AsyncSession, budget: Budget) -> Sequence[BudgetAdjustment]:
    stmt = (select(BudgetAdjustment).where(BudgetAdjustment.budget_id == budget.id)
            .order_by(BudgetAdjustment.created_at, BudgetAdjustment.id))
    return (await session.execute(stmt)).scalars().all()


def to_domain(row: Budget) -> Element3Budget:
    return Element3Budget(
        FinancialYear(row.start_year), row.formula_block_pence, row.cohort_block_pence,
        status=BudgetStatus(row.status), committed_pence=row.committed_pence,
        approved_on=row.approved_on,
    )


def _store(row: Budget, budget: Element3Budget, ctx: FundingContext) -> None:
    row.formula_block_pence = budget.formula_block_pence
    row.cohort_block_pence = budget.cohort_block_pence
    row.committed_pence = budget.committed_pence
    row.status = budget.status.value
    row.approved_on = budget.approved_on
    row.version += 1
    row.updated_at = ctx.now


async def create_draft(ctx: FundingContext, year: FinancialYear, *, total: str,
                       formula_block: str, note: str | None) -> Budget:
    """Draft the budget of ``year``. Raises :class:`Conflict` when it exists already."""
    budget = Element3Budget.draft(year, parse_pounds(total, field="body.total"),
                                  parse_pounds(formula_block, field="body.formula_block"))
    if await find_budget(ctx.session, year) is not None:
        raise Conflict(f"The {year} budget exists already: revise or adjust it.",
                       extra={"financial_year": year.label})
    row = Budget(financial_year=year.label, start_year=year.start_year,
                 formula_block_pence=budget.formula_block_pence,
                 cohort_block_pence=budget.cohort_block_pence, committed_pence=0,
                 status=budget.status.value, note=note, illustrative=False, version=1,
                 created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(row)
    await ctx.session.flush()
    return row


async def revise_draft(ctx: FundingContext, year: FinancialYear, if_match: str, *,
                       total: str | None, formula_block: str | None,
                       note: str | None) -> Budget:
    """Change a draft's figures. Raises 409 once approved (adjust it instead)."""
    row = await load_budget(ctx.session, year, for_update=True)
    check_if_match(if_match, row.version)
    budget = to_domain(row)
    budget.revise_draft(
        total_pence=None if total is None else parse_pounds(total, field="body.total"),
        formula_block_pence=(None if formula_block is None
                             else parse_pounds(formula_block, field="body.formula_block")))
    if note is not None:
        row.note = note
    _store(row, budget, ctx)
    await ctx.session.flush()
    return row


async def approve_budget(ctx: FundingContext, year: FinancialYear, if_match: str,
                         approved_on: date | None) -> Budget:
    """Approve the draft and emit ``BudgetApproved``."""
    row = await load_budget(ctx.session, year, for_update=True)
    check_if_match(if_match, row.version)
    budget = to_domain(row)
    budget.approve(approved_on or ctx.today)
    _store(row, budget, ctx)
    row.approved_at = ctx.now
    await ctx.session.flush()
    await ctx.emit(BudgetApproved(
        financial_year=year.label, total=pounds_str(budget.total_pence),
        formula_block=pounds_str(budget.formula_block_pence),
        cohort_block=pounds_str(budget.cohort_block_pence), approved_at=ctx.now,
    ), subject=str(row.id))
    return row


async def adjust_budget(ctx: FundingContext, year: FinancialYear, if_match: str, *,
                        block: str, amount: str, reason: str) -> DomainAdjustment:
    """Add to or take from a block of an approved budget, recording why.

    Raises 409 on a draft, or (``BudgetExceeded``) when the cohort block would fall below
    what is committed; 422 for a zero amount or blank reason.
    """
    row = await load_budget(ctx.session, year, for_update=True)
    check_if_match(if_match, row.version)
    budget = to_domain(row)
    record = budget.adjust(BudgetBlock(block),
                           parse_pounds(amount, field="body.amount", allow_negative=True),
                           reason, ctx.today)
    _store(row, budget, ctx)
    ctx.session.add(BudgetAdjustment(budget_id=row.id, block=record.block.value,
                                     amount_pence=record.amount_pence, reason=record.reason,
                                     made_on=record.made_on, made_by=ctx.actor,
                                     created_at=ctx.now))
    await ctx.session.flush()
    return record


async def count_budgets(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Budget))).scalar_one())
