"""Cohort and whole-school applications, panels and decisions.

A decision that awards money commits it against the year's cohort / whole-school block in the
same transaction: the budget row is taken ``FOR UPDATE`` (so concurrent decisions queue on it
and each sees the committed total the one before left), the domain refuses an award beyond
what remains (409 ``budget-exceeded`` with the remaining amount), and the CHECK constraint
``committed_pence <= cohort_block_pence`` refuses any write that would bypass both.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts.funding import ApplicationDecided, ApplicationSubmitted, PaymentsScheduled
from lfi_funding.db.models import AgendaItem, Application, Commitment, Decision, Panel
from lfi_funding.domain.applications import (
    ApplicationEvidence,
    ApplicationScope,
    ApplicationStatus,
    Element3Application,
    PanelDecision,
    PanelOutcome,
)
from lfi_funding.domain.errors import IllegalTransition
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.money import parse_pounds, pounds_str
from lfi_funding.schemas import EvidenceWrite
from lfi_funding.service import payments
from lfi_funding.service.budgets import load_budget, to_domain
from lfi_funding.service.context import FundingContext
from lfi_shared.http.concurrency import check_if_match
from lfi_shared.http.problems import NotFound

# -- mapping between rows and the domain ------------------------------------------------------


def evidence_from(body: EvidenceWrite) -> ApplicationEvidence:
    amount = (None if body.amount_requested is None
              else parse_pounds(body.amount_requested, field="body.evidence.amount_requested"))
    return ApplicationEvidence(body.needs_profile, body.provision_map_summary,
                               body.planned_approach, body.cohort_size, amount)


def to_domain_application(row: Application, decision: Decision | None) -> Element3Application:
    app = Element3Application(
        row.id, row.school_urn, FinancialYear.parse(row.financial_year),
        ApplicationScope(row.scope),
        ApplicationEvidence(row.needs_profile, row.provision_map_summary, row.planned_approach,
                            row.cohort_size, row.amount_requested_pence),
        status=ApplicationStatus(row.status), referral_id=row.referral_id,
        submitted_on=row.submitted_on, panel_date=row.panel_date,
        withdrawn_on=row.withdrawn_on, withdrawal_reason=row.withdrawal_reason)
    if decision is not None:
        app.decision = PanelDecision(PanelOutcome(decision.outcome), decision.amount_pence,
                                     decision.reason, decision.decided_on)
    return app


def _store(row: Application, app: Element3Application, ctx: FundingContext) -> None:
    evidence = app.evidence
    row.needs_profile = evidence.needs_profile
    row.provision_map_summary = evidence.provision_map_summary
    row.planned_approach = evidence.planned_approach
    row.cohort_size = evidence.cohort_size
    row.amount_requested_pence = evidence.amount_requested_pence
    row.status = app.status.value
    row.submitted_on = app.submitted_on
    row.panel_date = app.panel_date
    row.withdrawn_on = app.withdrawn_on
    row.withdrawal_reason = app.withdrawal_reason
    row.version += 1
    row.updated_at = ctx.now


# -- loading ---------------------------------------------------------------------------------

async def load_application(session: AsyncSession, application_id: uuid.UUID, *,
                           visible: frozenset[str] | None = None,
                           for_update: bool = False) -> Application:
    """The application, if the caller may see it (``visible``: their schools, ``None``: all);
    404 otherwise, so another school's application is not revealed to exist."""
    stmt = select(Application).where(Application.id == application_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None or (visible is not None and row.school_urn not in visible):
        raise NotFound("No such application.")
    return row


async def decision_of(session: AsyncSession, application_id: uuid.UUID) -> Decision | None:
    return (await session.execute(select(Decision).where(
        Decision.application_id == application_id))).scalar_one_or_none()


# -- applications ----------------------------------------------------------------------------

async def open_application(ctx: FundingContext, *, school_urn: str, financial_year: str,
                           scope: str, evidence: ApplicationEvidence,
                           referral_id: uuid.UUID | None = None,
                           review_request_id: uuid.UUID | None = None) -> Application:
    """A new draft application."""
    year = FinancialYear.parse(financial_year, field="body.financial_year")
    app = Element3Application.open(uuid.uuid4(), school_urn, year, ApplicationScope(scope),
                                   evidence, referral_id=referral_id)
    row = Application(id=app.application_id, school_urn=school_urn, financial_year=year.label,
                      scope=app.scope.value, status=app.status.value, referral_id=referral_id,
                      review_request_id=review_request_id, opened_by=ctx.actor, version=0,
                      created_at=ctx.now)
    _store(row, app, ctx)
    ctx.session.add(row)
    await ctx.session.flush()
    return row


async def update_evidence(ctx: FundingContext, row: Application, if_match: str,
                          evidence: ApplicationEvidence) -> Application:
    check_if_match(if_match, row.version)
    app = to_domain_application(row, None)
    app.update_evidence(evidence)
    _store(row, app, ctx)
    await ctx.session.flush()
    return row


async def submit_application(ctx: FundingContext, row: Application,
                             if_match: str) -> Application:
    """Submit a complete draft; emits ``ApplicationSubmitted``."""
    check_if_match(if_match, row.version)
    app = to_domain_application(row, None)
    app.submit(ctx.today)
    _store(row, app, ctx)
    await ctx.session.flush()
    assert row.amount_requested_pence is not None  # submitted evidence is complete
    await ctx.emit(ApplicationSubmitted(
        application_id=row.id, referral_id=row.referral_id, school_urn=row.school_urn,
        financial_year=row.financial_year, kind=app.scope.value,
        amount_requested=pounds_str(row.amount_requested_pence), submitted_at=ctx.now,
    ), subject=str(row.id), correlation_id=_correlation(row))
    return row


async def withdraw_application(ctx: FundingContext, row: Application, if_match: str,
                               reason: str) -> Application:
    check_if_match(if_match, row.version)
    app = to_domain_application(row, None)
    app.withdraw(reason, ctx.today)
    _store(row, app, ctx)
    await ctx.session.flush()
    return row


def _correlation(row: Application) -> str | None:
    # The journey's correlation id is the referral's id (see lfi_contracts.referrals).
    return str(row.referral_id) if row.referral_id is not None else None


# -- panels ----------------------------------------------------------------------------------

async def create_panel(ctx: FundingContext, *, meeting_on: date, title: str | None,
                       financial_year: str | None) -> Panel:
    year = (FinancialYear.parse(financial_year, field="body.financial_year")
            if financial_year else FinancialYear.containing(meeting_on))
    panel = Panel(id=uuid.uuid4(), meeting_on=meeting_on, financial_year=year.label,
                  title=title or f"Element 3 Funding Panel, {meeting_on.isoformat()}",
                  version=1, created_at=ctx.now)
    ctx.session.add(panel)
    await ctx.session.flush()
    return panel


async def load_panel(session: AsyncSession, panel_id: uuid.UUID, *,
                     for_update: bool = False) -> Panel:
    stmt = select(Panel).where(Panel.id == panel_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    panel = (await session.execute(stmt)).scalar_one_or_none()
    if panel is None:
        raise NotFound("No such panel.")
    return panel


async def agenda_of(session: AsyncSession,
                    panel_id: uuid.UUID) -> Sequence[tuple[AgendaItem, Application]]:
    stmt = (select(AgendaItem, Application)
            .join(Application, Application.id == AgendaItem.application_id)
            .where(AgendaItem.panel_id == panel_id).order_by(AgendaItem.position))
    return [(item, app) for item, app in (await session.execute(stmt)).all()]


async def place_on_agenda(ctx: FundingContext, panel_id: uuid.UUID, if_match: str,
                          application_id: uuid.UUID) -> Panel:
    """List a submitted application on the panel's agenda (or move a deferred one to it)."""
    panel = await load_panel(ctx.session, panel_id, for_update=True)
    check_if_match(if_match, panel.version)
    row = await load_application(ctx.session, application_id, for_update=True)
    app = to_domain_application(row, None)
    app.place_on_agenda(panel.meeting_on)
    _store(row, app, ctx)
    row.panel_id = panel.id
    position = (await ctx.session.execute(select(func.coalesce(func.max(AgendaItem.position), 0))
                                          .where(AgendaItem.panel_id == panel.id))).scalar_one()
    if await ctx.session.get(AgendaItem, (panel.id, row.id)) is None:
        ctx.session.add(AgendaItem(panel_id=panel.id, application_id=row.id,
                                   position=int(position) + 1, created_at=ctx.now))
    panel.version += 1
    await ctx.session.flush()
    return panel


# -- decisions -------------------------------------------------------------------------------

async def decide_application(ctx: FundingContext, application_id: uuid.UUID, if_match: str, *,
                             outcome: str, amount: str | None, reason: str) -> Application:
    """Record the panel's decision; an award is committed against the cohort block (never past
    it, whatever the concurrency) and scheduled over the terms that remain.

    Emits ``ApplicationDecided`` and, for an award, ``PaymentsScheduled``. Raises 409
    ``budget-exceeded`` (with ``remaining``) when the award does not fit, 409 when the budget
    is not approved or the application is not on an agenda, 412/428 for If-Match.
    """
    row = await load_application(ctx.session, application_id, for_update=True)
    check_if_match(if_match, row.version)
    if row.panel_id is None:
        raise IllegalTransition(f"Cannot decide an application that is "
                                f"{row.status.replace('_', ' ')}: it is on no panel's agenda",
                                extra={"current_status": row.status, "action": "decide"})
    panel = await load_panel(ctx.session, row.panel_id)
    app = to_domain_application(row, None)
    amount_pence = None if amount is None else parse_pounds(amount, field="body.amount")
    decision = app.decide(PanelOutcome(outcome), reason=reason, decided_on=panel.meeting_on,
                          amount_pence=amount_pence)
    _store(row, app, ctx)
    ctx.session.add(Decision(application_id=row.id, panel_id=panel.id,
                             outcome=decision.outcome.value, amount_pence=decision.amount_pence,
                             reason=decision.reason, decided_on=decision.decided_on,
                             decided_by=ctx.actor, created_at=ctx.now))
    await ctx.session.flush()
    asked = row.amount_requested_pence or 0
    # The decision's event first, then the award's schedule: consumers and the journey's
    # timeline see them in the order they happened (one transaction: both or neither).
    await ctx.emit(ApplicationDecided(
        application_id=row.id, referral_id=row.referral_id, school_urn=row.school_urn,
        financial_year=row.financial_year, outcome=decision.outcome.value,
        amount_requested=pounds_str(asked), amount_awarded=pounds_str(decision.amount_pence),
        decided_on=decision.decided_on, panel_id=panel.id,
    ), subject=str(row.id), correlation_id=_correlation(row))
    if decision.amount_pence > 0:
        await _commit_award(ctx, row, decision)
    return row


async def _commit_award(ctx: FundingContext, row: Application, decision: PanelDecision) -> None:
    year = FinancialYear.parse(row.financial_year)
    budget_row = await load_budget(ctx.session, year, for_update=True)
    budget = to_domain(budget_row)
    budget.commit(decision.amount_pence)  # BudgetExceeded (409) if it does not fit
    budget_row.committed_pence = budget.committed_pence
    budget_row.version += 1
    budget_row.updated_at = ctx.now
    ctx.session.add(Commitment(budget_id=budget_row.id, application_id=row.id,
                               amount_pence=decision.amount_pence, committed_at=ctx.now))
    await ctx.session.flush()  # the CHECK constraint is the last word, here
    schedule, instalments = await payments.schedule_award(ctx, row, decision.amount_pence,
                                                          decision.decided_on)
    await ctx.emit(PaymentsScheduled(
        schedule_id=schedule.id, application_id=row.id, referral_id=row.referral_id,
        school_urn=row.school_urn, financial_year=row.financial_year,
        total=pounds_str(schedule.total_pence),
        instalments=[{"term": i.term, "due_on": i.due_on.isoformat(),
                      "amount": pounds_str(i.amount_pence)} for i in instalments],
    ), subject=str(schedule.id), correlation_id=_correlation(row))
