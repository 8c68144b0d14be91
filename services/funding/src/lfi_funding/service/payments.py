"""Term dates, payment schedules (4/12, 3/12, 5/12 by the profile in ``domain.seed_data``) and
termly payment runs with a CSV export for the finance system.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_funding.db.bulk import copy_records
from lfi_funding.db.models import (
    AcademicTerm,
    Application,
    InstalmentRow,
    PaymentRun,
    PaymentSchedule,
    School,
)
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.money import (
    apportion_by_integer_weights,
    integer_weights,
    pounds_str,
)
from lfi_funding.domain.payments import (
    AcademicYearTerms,
    PaymentProfile,
    ScheduleRule,
    Term,
    TermDates,
    schedule_payments,
)
from lfi_funding.domain.seed_data import PAYMENT_PROFILE
from lfi_funding.service.context import FundingContext
from lfi_shared.http.problems import Conflict

TERM_ORDER = {term.value: index for index, term in enumerate(Term)}


def payment_profile() -> PaymentProfile:
    """The termly profile every annual amount is paid by (data, in ``seed_data``)."""
    return PAYMENT_PROFILE


async def find_terms(session: AsyncSession, year: FinancialYear) -> AcademicYearTerms | None:
    rows = (await session.execute(
        select(AcademicTerm).where(AcademicTerm.financial_year == year.label))).scalars().all()
    if not rows:
        return None
    ordered = sorted(rows, key=lambda r: r.starts_on)
    return AcademicYearTerms(ordered[0].academic_year, tuple(
        TermDates(Term(r.term), r.starts_on, r.ends_on, r.payment_on) for r in ordered))


async def load_terms(session: AsyncSession, year: FinancialYear) -> AcademicYearTerms:
    """The terms paid from ``year``; raises 409 when they are not entered yet."""
    terms = await find_terms(session, year)
    if terms is None:
        raise Conflict(f"The term dates paid from {year} are not entered yet: set them at "
                       f"/v1/funding/years/{year}/terms first.",
                       extra={"financial_year": year.label})
    return terms


async def set_terms(ctx: FundingContext, year: FinancialYear, terms: AcademicYearTerms) -> None:
    """Enter (or replace) the term dates paid from ``year``.

    Raises 409 once an instalment of the year has been scheduled on the old dates.
    """
    scheduled = await ctx.session.execute(
        select(exists().where(InstalmentRow.financial_year == year.label)))
    current = await find_terms(ctx.session, year)
    if scheduled.scalar() and current is not None and current != terms:
        raise Conflict(f"Payments of {year} are already scheduled on its term dates.",
                       extra={"financial_year": year.label})
    await ctx.session.execute(delete(AcademicTerm).where(AcademicTerm.financial_year == year.label))
    await ctx.session.execute(insert(AcademicTerm), [
        {"financial_year": year.label, "term": t.term.value, "academic_year": terms.label,
         "starts_on": t.starts_on, "ends_on": t.ends_on, "payment_on": t.payment_on}
        for t in terms.terms])


async def schedule_award(ctx: FundingContext, application: Application, amount_pence: int,
                         decided_on: date) -> tuple[PaymentSchedule, list[InstalmentRow]]:
    """Schedule an award decided on ``decided_on`` over the terms that remain."""
    year = FinancialYear.parse(application.financial_year)
    schedule = schedule_payments(amount_pence, payment_profile(),
                                 await load_terms(ctx.session, year), decided_on)
    row = PaymentSchedule(id=uuid.uuid4(), kind="award", school_urn=application.school_urn,
                          financial_year=year.label, application_id=application.id,
                          total_pence=amount_pence, rule=schedule.rule.value,
                          created_at=ctx.now)
    ctx.session.add(row)
    await ctx.session.flush()  # no ORM relationship orders the inserts: the schedule first
    instalments = [InstalmentRow(id=uuid.uuid4(), schedule_id=row.id, financial_year=year.label,
                                 school_urn=application.school_urn, term=i.term.value,
                                 due_on=i.due_on, amount_pence=i.amount_pence)
                   for i in schedule.instalments]
    ctx.session.add_all(instalments)
    await ctx.session.flush()
    return row, instalments


async def formula_payments_started(session: AsyncSession, year: FinancialYear) -> bool:
    stmt = select(exists().where(
        InstalmentRow.financial_year == year.label, InstalmentRow.payment_run_id.is_not(None),
        InstalmentRow.schedule_id == PaymentSchedule.id, PaymentSchedule.kind == "formula"))
    return bool((await session.execute(stmt)).scalar())


async def replace_formula_schedules(ctx: FundingContext, year: FinancialYear,
                                    publication_id: uuid.UUID,
                                    amounts: Sequence[tuple[str, int]]) -> None:
    """Each school's annual formula allocation as a full-year schedule (the earlier
    publication's schedules, unpaid, are replaced). Written with ``COPY``: 25,000 schools are
    25,000 schedules and 75,000 instalments."""
    terms = await load_terms(ctx.session, year)
    profile = payment_profile()
    await ctx.session.execute(delete(PaymentSchedule).where(
        PaymentSchedule.financial_year == year.label, PaymentSchedule.kind == "formula"))
    due = {t.term: t.payment_on for t in terms.terms}
    profile_terms = [(term.value, due[term]) for term in profile.terms]
    # split_annual_amount() per school, with the profile's weights made integers once.
    weights = integer_weights([share for _, share in profile.shares])
    schedules: list[tuple[Any, ...]] = []
    instalments: list[tuple[Any, ...]] = []
    for urn, amount in amounts:
        schedule_id = uuid.uuid4()
        schedules.append((schedule_id, "formula", urn, year.label, publication_id, amount,
                          ScheduleRule.FULL_YEAR.value, ctx.now))
        parts = apportion_by_integer_weights(amount, weights)
        for (term, due_on), part in zip(profile_terms, parts, strict=True):
            instalments.append((schedule_id, year.label, urn, term, due_on, part))
    await copy_records(ctx.session, PaymentSchedule,
                       ("id", "kind", "school_urn", "financial_year", "publication_id",
                        "total_pence", "rule", "created_at"), schedules)
    await copy_records(ctx.session, InstalmentRow,
                       ("schedule_id", "financial_year", "school_urn", "term", "due_on",
                        "amount_pence"), instalments)


async def schedule_of_application(session: AsyncSession, application_id: uuid.UUID
                                  ) -> tuple[PaymentSchedule, Sequence[InstalmentRow]] | None:
    row = (await session.execute(select(PaymentSchedule).where(
        PaymentSchedule.application_id == application_id))).scalar_one_or_none()
    if row is None:
        return None
    return row, await instalments_of(session, row.id)


async def instalments_of(session: AsyncSession, schedule_id: uuid.UUID
                         ) -> Sequence[InstalmentRow]:
    rows = (await session.execute(select(InstalmentRow).where(
        InstalmentRow.schedule_id == schedule_id))).scalars().all()
    return sorted(rows, key=lambda r: TERM_ORDER[r.term])


async def create_payment_run(ctx: FundingContext, year: FinancialYear, term: Term,
                             run_on: date | None) -> PaymentRun:
    """A run paying every unpaid instalment of ``year``'s ``term`` due on or before ``run_on``.

    One ``UPDATE … WHERE payment_run_id IS NULL`` claims them, so two runs at once never pay an
    instalment twice. Raises 409 when nothing is due.
    """
    day = run_on or ctx.today
    run = PaymentRun(id=uuid.uuid4(), financial_year=year.label, term=term.value, run_on=day,
                     total_pence=0, instalments=0, created_by=ctx.actor, created_at=ctx.now)
    ctx.session.add(run)
    await ctx.session.flush()
    claimed = (await ctx.session.execute(
        update(InstalmentRow)
        .where(InstalmentRow.financial_year == year.label, InstalmentRow.term == term.value,
               InstalmentRow.payment_run_id.is_(None), InstalmentRow.due_on <= day)
        .values(payment_run_id=run.id)
        .returning(InstalmentRow.amount_pence))).scalars().all()
    if not claimed:
        raise Conflict(f"No unpaid {term.value} instalments of {year} are due on or before "
                       f"{day.isoformat()}.", extra={"financial_year": year.label})
    run.instalments = len(claimed)
    run.total_pence = sum(claimed)
    await ctx.session.flush()
    return run


EXPORT_COLUMNS = ("payment_run_id", "financial_year", "term", "run_on", "urn", "laestab",
                  "school_name", "kind", "reference", "due_on", "amount")



async def export_run_csv(session: AsyncSession, run: PaymentRun) -> str:
    """The run as CSV for the finance system: one line per instalment, amounts in pounds."""
    stmt = (
        select(InstalmentRow.school_urn, School.laestab, School.name, PaymentSchedule.kind,
               PaymentSchedule.application_id, PaymentSchedule.publication_id,
               InstalmentRow.due_on, InstalmentRow.amount_pence)
        .join(PaymentSchedule, PaymentSchedule.id == InstalmentRow.schedule_id)
        .outerjoin(School, School.urn == InstalmentRow.school_urn)
        .where(InstalmentRow.payment_run_id == run.id)
        .order_by(InstalmentRow.school_urn, PaymentSchedule.kind, InstalmentRow.id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for urn, laestab, name, kind, application_id, publication_id, due_on, amount in (
            await session.execute(stmt)).all():
        reference = str(application_id if application_id is not None else publication_id)
        writer.writerow((run.id, run.financial_year, run.term, run.run_on.isoformat(), urn,
                         laestab or "", _safe_cell(name or ""), kind, reference,
                         due_on.isoformat(), pounds_str(amount)))
    return out.getvalue()


def _safe_cell(text: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet: quote it.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
