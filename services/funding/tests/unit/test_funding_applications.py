"""Cohort and whole-school applications: legal transitions only, and the panel's amounts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import UUID, uuid4

import pytest

from lfi_funding.domain.applications import (
    ApplicationEvidence,
    ApplicationScope,
    ApplicationStatus,
    Element3Application,
    PanelOutcome,
)
from lfi_funding.domain.errors import IllegalTransition, InvalidFundingInput
from lfi_funding.domain.financial_year import FinancialYear

S = ApplicationStatus
ASKED = 2_000_000  # £20,000.00
SUBMITTED_ON = date(2025, 10, 1)
PANEL_DATE = date(2025, 11, 12)


def full_evidence(amount: int = ASKED) -> ApplicationEvidence:
    return ApplicationEvidence(
        needs_profile="Year 7 cohort: 14 pupils with SEMH needs, 6 on SEN support.",
        provision_map_summary="Nurture group 3x weekly; ELSA sessions; key adult check-ins.",
        planned_approach="Trauma-informed practice training for staff and a nurture base.",
        cohort_size=14,
        amount_requested_pence=amount,
    )


def draft(referral_id: UUID | None = None) -> Element3Application:
    return Element3Application.open(uuid4(), "121234", FinancialYear(2025),
                                     ApplicationScope.COHORT, full_evidence(),
                                     referral_id=referral_id)


def in_status(status: ApplicationStatus) -> Element3Application:
    """An application brought to ``status`` through legal transitions."""
    app = draft()
    if status is S.DRAFT:
        return app
    if status is S.WITHDRAWN:
        app.withdraw("School found other funding", date(2025, 9, 20))
        return app
    app.submit(SUBMITTED_ON)
    if status is S.SUBMITTED:
        return app
    app.place_on_agenda(PANEL_DATE)
    if status is S.ON_AGENDA:
        return app
    outcome = PanelOutcome(status.value)
    amount = ASKED // 2 if outcome is PanelOutcome.PART_APPROVED else None
    app.decide(outcome, reason="Panel view", decided_on=PANEL_DATE, amount_pence=amount)
    return app


def approve(app: Element3Application) -> None:
    app.decide(PanelOutcome.APPROVED, reason="Strong evidence", decided_on=PANEL_DATE)


def part_approve(app: Element3Application) -> None:
    app.decide(PanelOutcome.PART_APPROVED, reason="Fund the nurture base only",
               decided_on=PANEL_DATE, amount_pence=ASKED - 1)


def decline(app: Element3Application) -> None:
    app.decide(PanelOutcome.DECLINED, reason="The universal offer fits", decided_on=PANEL_DATE)


ACTIONS: dict[str, Callable[[Element3Application], None]] = {
    "edit": lambda a: a.update_evidence(full_evidence(ASKED + 1)),
    "submit": lambda a: a.submit(SUBMITTED_ON),
    "place_on_agenda": lambda a: a.place_on_agenda(date(2025, 12, 10)),
    "approve": approve,
    "part_approve": part_approve,
    "decline": decline,
    "withdraw": lambda a: a.withdraw("No longer needed", date(2025, 12, 1)),
}

# (action, from-status) → status after; absent pairs must be refused with 409.
LEGAL: dict[tuple[str, ApplicationStatus], ApplicationStatus] = {
    ("edit", S.DRAFT): S.DRAFT,
    ("submit", S.DRAFT): S.SUBMITTED,
    ("place_on_agenda", S.SUBMITTED): S.ON_AGENDA,
    ("place_on_agenda", S.ON_AGENDA): S.ON_AGENDA,  # deferred to a later meeting
    ("approve", S.ON_AGENDA): S.APPROVED,
    ("part_approve", S.ON_AGENDA): S.PART_APPROVED,
    ("decline", S.ON_AGENDA): S.DECLINED,
    ("withdraw", S.DRAFT): S.WITHDRAWN,
    ("withdraw", S.SUBMITTED): S.WITHDRAWN,
    ("withdraw", S.ON_AGENDA): S.WITHDRAWN,
}


@pytest.mark.parametrize("status", list(ApplicationStatus))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_only_legal_transitions_are_allowed(action: str, status: ApplicationStatus) -> None:
    app = in_status(status)
    assert app.status is status
    expected = LEGAL.get((action, status))
    if expected is None:
        with pytest.raises(IllegalTransition) as caught:
            ACTIONS[action](app)
        assert caught.value.status == 409
        assert caught.value.extra["current_status"] == status.value
        assert app.status is status  # unchanged
    else:
        ACTIONS[action](app)
        assert app.status is expected


def test_approval_awards_the_amount_asked() -> None:
    app = in_status(S.ON_AGENDA)
    decision = app.decide(PanelOutcome.APPROVED, reason="Meets criteria", decided_on=PANEL_DATE)
    assert (decision.amount_pence, app.awarded_pence) == (ASKED, ASKED)
    assert app.decision is decision


def test_approval_with_another_amount_is_refused() -> None:
    app = in_status(S.ON_AGENDA)
    with pytest.raises(InvalidFundingInput) as caught:
        app.decide(PanelOutcome.APPROVED, reason="ok", decided_on=PANEL_DATE,
                   amount_pence=ASKED - 1)
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "amount_not_asked"
    assert app.status is S.ON_AGENDA


@pytest.mark.parametrize("amount", [None, 0, -1, ASKED, ASKED + 1, True])
def test_part_approval_needs_an_amount_above_zero_and_below_the_ask(amount: int | None) -> None:
    app = in_status(S.ON_AGENDA)
    with pytest.raises(InvalidFundingInput) as caught:
        app.decide(PanelOutcome.PART_APPROVED, reason="Part", decided_on=PANEL_DATE,
                   amount_pence=amount)
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "amount_out_of_range"
    assert app.status is S.ON_AGENDA


@pytest.mark.parametrize("amount", [1, ASKED - 1])
def test_part_approval_at_the_edges(amount: int) -> None:
    app = in_status(S.ON_AGENDA)
    app.decide(PanelOutcome.PART_APPROVED, reason="Part", decided_on=PANEL_DATE,
               amount_pence=amount)
    assert (app.status, app.awarded_pence) == (S.PART_APPROVED, amount)


def test_decline_awards_nothing_and_refuses_an_amount() -> None:
    app = in_status(S.ON_AGENDA)
    with pytest.raises(InvalidFundingInput):
        app.decide(PanelOutcome.DECLINED, reason="No", decided_on=PANEL_DATE, amount_pence=5)
    app.decide(PanelOutcome.DECLINED, reason="No", decided_on=PANEL_DATE)
    assert (app.status, app.awarded_pence) == (S.DECLINED, 0)


@pytest.mark.parametrize("outcome", list(PanelOutcome))
def test_every_decision_needs_a_reason(outcome: PanelOutcome) -> None:
    app = in_status(S.ON_AGENDA)
    amount = 1 if outcome is PanelOutcome.PART_APPROVED else None
    with pytest.raises(InvalidFundingInput) as caught:
        app.decide(outcome, reason=" ", decided_on=PANEL_DATE, amount_pence=amount)
    assert caught.value.errors is not None
    assert caught.value.errors[0].code == "reason_required"


def test_withdrawal_needs_a_reason_and_records_it() -> None:
    app = in_status(S.SUBMITTED)
    with pytest.raises(InvalidFundingInput):
        app.withdraw("", date(2025, 10, 2))
    app.withdraw("Cohort moved school", date(2025, 10, 2))
    assert (app.withdrawal_reason, app.withdrawn_on) == ("Cohort moved school", date(2025, 10, 2))


def test_submission_lists_every_missing_evidence_field() -> None:
    app = Element3Application.open(uuid4(), "121234", FinancialYear(2025),
                                   ApplicationScope.WHOLE_SCHOOL,
                                   ApplicationEvidence(needs_profile="Needs"))
    with pytest.raises(InvalidFundingInput) as caught:
        app.submit(SUBMITTED_ON)
    assert caught.value.errors is not None
    assert {e.field for e in caught.value.errors} == {
        "evidence.provision_map_summary", "evidence.planned_approach", "evidence.cohort_size",
        "evidence.amount_requested_pence"}
    assert app.status is S.DRAFT


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"needs_profile": "  "}, "evidence.needs_profile"),
    ({"planned_approach": "x" * 20_001}, "evidence.planned_approach"),
    ({"cohort_size": 0}, "evidence.cohort_size"),
    ({"amount_requested_pence": 0}, "evidence.amount_requested_pence"),
    ({"amount_requested_pence": -100}, "evidence.amount_requested_pence"),
])
def test_evidence_refuses_bad_values(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidFundingInput) as caught:
        ApplicationEvidence(**kwargs)  # type: ignore[arg-type]
    assert caught.value.errors is not None
    assert caught.value.errors[0].field == field


def test_open_refuses_a_bad_urn_and_links_the_referral() -> None:
    with pytest.raises(InvalidFundingInput):
        Element3Application.open(uuid4(), "1234567", FinancialYear(2025),
                                 ApplicationScope.COHORT)
    referral = uuid4()
    assert draft(referral_id=referral).referral_id == referral


def test_panel_meeting_cannot_precede_the_submission() -> None:
    app = in_status(S.SUBMITTED)
    with pytest.raises(InvalidFundingInput):
        app.place_on_agenda(date(2025, 9, 1))
