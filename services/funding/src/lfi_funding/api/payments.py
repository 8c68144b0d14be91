"""Term dates, payment runs and their CSV export for the finance system."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import ColumnElement, select

from lfi_funding.api.deps import RESPONSES, ContextDep, YearDep, idempotency, manage, read_all
from lfi_funding.api.representations import payment_run_read
from lfi_funding.db.models import PaymentRun
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.payments import AcademicYearTerms, Term, TermDates
from lfi_funding.schemas import (
    PaymentRunCreate,
    PaymentRunPage,
    PaymentRunRead,
    TermsRead,
    TermsWrite,
    TermWrite,
)
from lfi_funding.service import payments
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey
from lfi_shared.http.pagination import PageQuery, keyset_page
from lfi_shared.http.problems import NotFound

router = APIRouter(tags=["payments"], responses=RESPONSES)


def _terms_read(year: FinancialYear, terms: AcademicYearTerms) -> TermsRead:
    return TermsRead(financial_year=year.label, academic_year=terms.label, terms=[
        TermWrite(term=t.term.value, starts_on=t.starts_on, ends_on=t.ends_on,
                  payment_on=t.payment_on) for t in terms.terms])


@router.get("/v1/funding/years/{fy}/terms", response_model=TermsRead,
            dependencies=[read_all])
async def read_terms(year: YearDep, ctx: ContextDep) -> TermsRead:
    """The academic year's terms paid from this financial year, with payment dates."""
    terms = await payments.find_terms(ctx.session, year)
    if terms is None:
        raise NotFound(f"No term dates are entered for {year}.")
    return _terms_read(year, terms)


@router.put("/v1/funding/years/{fy}/terms", response_model=TermsRead, dependencies=[manage])
async def set_terms(year: YearDep, body: TermsWrite, ctx: ContextDep) -> TermsRead:
    """Enter the term dates paid from this financial year (later years are data)."""
    terms = AcademicYearTerms(body.academic_year, tuple(
        TermDates(Term(t.term), t.starts_on, t.ends_on, t.payment_on) for t in body.terms))
    await payments.set_terms(ctx, year, terms)
    return _terms_read(year, terms)


@router.post("/v1/funding/payment-runs", status_code=201, response_model=PaymentRunRead,
             dependencies=[manage])
async def create_payment_run(body: PaymentRunCreate, ctx: ContextDep,
                             key: IdempotencyKey = None) -> Response:
    """Pay every unpaid instalment of the year's term due on or before ``run_on`` (409 when
    none is due). Each instalment is paid by one run only, however many run at once."""
    year = FinancialYear.parse(body.financial_year, field="body.financial_year")

    async def create() -> CreatedResponse:
        run = await payments.create_payment_run(ctx, year, Term(body.term), body.run_on)
        return CreatedResponse(201, payment_run_read(run).model_dump(mode="json"),
                               {"Location": f"/v1/funding/payment-runs/{run.id}"})

    return await idempotency.run(ctx.session, key=key, owner=ctx.actor,
                                 operation="create_payment_run", payload=body, create=create)


@router.get("/v1/funding/payment-runs", response_model=PaymentRunPage, dependencies=[read_all])
async def list_payment_runs(ctx: ContextDep, page: PageQuery,
                            financial_year: str | None = None) -> PaymentRunPage:
    stmt = select(PaymentRun)
    if financial_year is not None:
        stmt = stmt.where(PaymentRun.financial_year == financial_year)
    keys: list[ColumnElement[Any]] = [PaymentRun.created_at.expression, PaymentRun.id.expression]
    rows, cursor = await keyset_page(ctx.session, stmt, keys, page)
    return PaymentRunPage(items=[payment_run_read(r) for r in rows], next_cursor=cursor)


async def _run(ctx: ContextDep, run_id: uuid.UUID) -> PaymentRun:
    run = await ctx.session.get(PaymentRun, run_id)
    if run is None:
        raise NotFound("No such payment run.")
    return run


@router.get("/v1/funding/payment-runs/{run_id}", response_model=PaymentRunRead,
            dependencies=[read_all])
async def read_payment_run(run_id: uuid.UUID, ctx: ContextDep) -> PaymentRunRead:
    return payment_run_read(await _run(ctx, run_id))


@router.get("/v1/funding/payment-runs/{run_id}/export", dependencies=[read_all],
            response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "One line per instalment paid by the run."}})
async def export_payment_run(run_id: uuid.UUID, ctx: ContextDep) -> Response:
    """The run as CSV for the finance system (amounts in pounds)."""
    run = await _run(ctx, run_id)
    body = await payments.export_run_csv(ctx.session, run)
    filename = f"element3-{run.financial_year}-{run.term}-{run.id}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
