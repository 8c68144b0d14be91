"""Rows as API representations (pence to pound strings, explanations, agendas)."""

from __future__ import annotations

from collections.abc import Sequence

from lfi_funding.db.models import (
    AgendaItem,
    AllocationPublication,
    Application,
    Budget,
    BudgetAdjustment,
    Decision,
    FormulaVersion,
    InstalmentRow,
    Panel,
    PaymentRun,
    PaymentSchedule,
    SchoolAllocationRow,
)
from lfi_funding.domain.formula import FactorBasis
from lfi_funding.domain.money import pounds_str
from lfi_funding.schemas import (
    AdjustmentRead,
    AgendaItemRead,
    ApplicationRead,
    BudgetRead,
    DecisionRead,
    EvidenceRead,
    FactorContributionRead,
    FactorRead,
    FormulaRead,
    InstalmentRead,
    PanelRead,
    PaymentRunRead,
    PublicationRead,
    ScheduleRead,
    SchoolAllocationRead,
)


def _money(pence: int | None) -> str | None:
    return None if pence is None else pounds_str(pence)


def budget_read(row: Budget, adjustments: Sequence[BudgetAdjustment]) -> BudgetRead:
    return BudgetRead(
        financial_year=row.financial_year, status=row.status,
        total=pounds_str(row.formula_block_pence + row.cohort_block_pence),
        formula_block=pounds_str(row.formula_block_pence),
        cohort_block=pounds_str(row.cohort_block_pence),
        committed=pounds_str(row.committed_pence),
        remaining=pounds_str(row.cohort_block_pence - row.committed_pence),
        approved_on=row.approved_on, note=row.note, illustrative=row.illustrative,
        version=row.version,
        adjustments=[AdjustmentRead(id=a.id, block=a.block,
                                    amount=pounds_str(a.amount_pence), reason=a.reason,
                                    made_on=a.made_on, made_by=a.made_by,
                                    created_at=a.created_at) for a in adjustments])


def formula_read(row: FormulaVersion) -> FormulaRead:
    return FormulaRead(financial_year=row.financial_year, version=row.version,
                       factors=[FactorRead(**f) for f in row.factors],
                       created_by=row.created_by, created_at=row.created_at)


def publication_read(row: AllocationPublication) -> PublicationRead:
    return PublicationRead(financial_year=row.financial_year, version=row.version,
                           formula_version=row.formula_version, block=pounds_str(row.block_pence),
                           schools=row.schools, total_points=str(row.total_points),
                           published_at=row.published_at, published_by=row.published_by)


def allocation_read(publication: AllocationPublication, row: SchoolAllocationRow,
                    formula: FormulaVersion, school_name: str | None) -> SchoolAllocationRead:
    factors = {f["code"]: f for f in formula.factors}
    return SchoolAllocationRead(
        financial_year=publication.financial_year, publication=publication.version,
        formula_version=publication.formula_version, urn=row.urn, school_name=school_name,
        amount=pounds_str(row.amount_pence), points=str(row.points),
        explanation=[FactorContributionRead(
            factor_code=f["code"], label=factors[f["code"]]["label"],
            basis=FactorBasis(factors[f["code"]]["basis"]),
            weight=factors[f["code"]]["weight"], value=f["value"],
            amount=pounds_str(f["amount_pence"])) for f in row.factors])


def application_read(row: Application, decision: Decision | None,
                     school_name: str | None = None) -> ApplicationRead:
    return ApplicationRead(
        id=row.id, school_urn=row.school_urn, school_name=school_name,
        financial_year=row.financial_year, scope=row.scope,
        status=row.status,
        evidence=EvidenceRead(needs_profile=row.needs_profile,
                              provision_map_summary=row.provision_map_summary,
                              planned_approach=row.planned_approach,
                              cohort_size=row.cohort_size,
                              amount_requested=_money(row.amount_requested_pence)),
        referral_id=row.referral_id, submitted_on=row.submitted_on, panel_id=row.panel_id,
        panel_date=row.panel_date,
        decision=None if decision is None else DecisionRead(
            outcome=decision.outcome,
            amount_awarded=pounds_str(decision.amount_pence), reason=decision.reason,
            decided_on=decision.decided_on, panel_id=decision.panel_id,
            decided_by=decision.decided_by),
        withdrawn_on=row.withdrawn_on, withdrawal_reason=row.withdrawal_reason,
        version=row.version, created_at=row.created_at)


def panel_read(panel: Panel, agenda: Sequence[tuple[AgendaItem, Application]]) -> PanelRead:
    return PanelRead(id=panel.id, meeting_on=panel.meeting_on,
                     financial_year=panel.financial_year, title=panel.title,
                     version=panel.version, agenda=[
                         AgendaItemRead(position=item.position, application_id=app.id,
                                        school_urn=app.school_urn,
                                        scope=app.scope,
                                        status=app.status,
                                        amount_requested=_money(app.amount_requested_pence))
                         for item, app in agenda])


def schedule_read(row: PaymentSchedule, instalments: Sequence[InstalmentRow]) -> ScheduleRead:
    return ScheduleRead(id=row.id, kind=row.kind,
                        school_urn=row.school_urn, financial_year=row.financial_year,
                        application_id=row.application_id, total=pounds_str(row.total_pence),
                        rule=row.rule, instalments=[
                            InstalmentRead(term=i.term,
                                           due_on=i.due_on, amount=pounds_str(i.amount_pence),
                                           payment_run_id=i.payment_run_id)
                            for i in instalments])


def payment_run_read(row: PaymentRun) -> PaymentRunRead:
    return PaymentRunRead(id=row.id, financial_year=row.financial_year,
                          term=row.term,
                          run_on=row.run_on, total=pounds_str(row.total_pence),
                          instalments=row.instalments, created_by=row.created_by,
                          created_at=row.created_at)
