"""Cohort and whole-school Element 3 applications, from draft to the panel's decision.

::

    draft ──submit──▶ submitted ──place_on_agenda──▶ on_agenda ──decide──▶ approved
      │                   │                            │  ▲              ├▶ part_approved
      │                   │                            └──┘ (re-listed)  └▶ declined
      └───────────────────┴────────withdraw────────────┴──▶ withdrawn

Only these transitions are legal (:data:`ALLOWED_FROM`); any other raises
:class:`~lfi_funding.domain.errors.IllegalTransition` (409). Evidence can be edited only in draft
and must be complete to submit. Re-listing an application on a later agenda covers a panel that
defers it. Committing an award against the budget and scheduling its payments are separate
steps (:mod:`~lfi_funding.domain.budget`, :mod:`~lfi_funding.domain.payments`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from uuid import UUID

from lfi_funding.domain.errors import IllegalTransition, field_error, invalid
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.identifiers import urn_error
from lfi_shared.http.problems import FieldError

__all__ = [
    "ALLOWED_FROM",
    "ApplicationAction",
    "ApplicationEvidence",
    "ApplicationScope",
    "ApplicationStatus",
    "Element3Application",
    "PanelDecision",
    "PanelOutcome",
]

MAX_TEXT_LENGTH = 20_000
MAX_REASON_LENGTH = 4_000


class ApplicationScope(StrEnum):
    COHORT = "cohort"
    WHOLE_SCHOOL = "whole_school"


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ON_AGENDA = "on_agenda"
    APPROVED = "approved"
    PART_APPROVED = "part_approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class PanelOutcome(StrEnum):
    APPROVED = "approved"
    PART_APPROVED = "part_approved"
    DECLINED = "declined"


class ApplicationAction(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    PLACE_ON_AGENDA = "place_on_agenda"
    DECIDE = "decide"
    WITHDRAW = "withdraw"


_S = ApplicationStatus
ALLOWED_FROM: Mapping[ApplicationAction, frozenset[ApplicationStatus]] = {
    ApplicationAction.EDIT: frozenset({_S.DRAFT}),
    ApplicationAction.SUBMIT: frozenset({_S.DRAFT}),
    ApplicationAction.PLACE_ON_AGENDA: frozenset({_S.SUBMITTED, _S.ON_AGENDA}),
    ApplicationAction.DECIDE: frozenset({_S.ON_AGENDA}),
    ApplicationAction.WITHDRAW: frozenset({_S.DRAFT, _S.SUBMITTED, _S.ON_AGENDA}),
}
"""The states each action is allowed from; everything else is an illegal transition."""

_OUTCOME_STATUS = {
    PanelOutcome.APPROVED: _S.APPROVED,
    PanelOutcome.PART_APPROVED: _S.PART_APPROVED,
    PanelOutcome.DECLINED: _S.DECLINED,
}


@dataclass(frozen=True, slots=True)
class ApplicationEvidence:
    """What the school puts forward. A draft may be incomplete; a submission may not.

    Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` for a value given but
    invalid: text blank or too long, a cohort size below 1, an amount not positive.
    """

    needs_profile: str | None = None
    provision_map_summary: str | None = None
    planned_approach: str | None = None
    cohort_size: int | None = None
    amount_requested_pence: int | None = None

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        for name in ("needs_profile", "provision_map_summary", "planned_approach"):
            text = getattr(self, name)
            if text is not None and (not isinstance(text, str) or not text.strip()
                                     or len(text) > MAX_TEXT_LENGTH):
                errors.append(field_error(
                    f"evidence.{name}", f"must be text of 1 to {MAX_TEXT_LENGTH} characters",
                    "text_invalid"))
        for name in ("cohort_size", "amount_requested_pence"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                errors.append(field_error(f"evidence.{name}", "must be a positive whole number",
                                          "positive_required"))
        if errors:
            raise invalid(errors)

    def missing(self) -> list[str]:
        """The names of the fields not yet given."""
        return [f.name for f in fields(self) if getattr(self, f.name) is None]


@dataclass(frozen=True, slots=True)
class PanelDecision:
    """The Element 3 Funding Panel's decision; ``amount_pence`` is 0 when declined."""

    outcome: PanelOutcome
    amount_pence: int
    reason: str
    decided_on: date


@dataclass(slots=True)
class Element3Application:
    """A school's application for cohort or whole-school Element 3 funding in a financial year.

    Open one with :meth:`open`; change it only through its methods.
    """

    application_id: UUID
    school_urn: str
    financial_year: FinancialYear
    scope: ApplicationScope
    evidence: ApplicationEvidence
    status: ApplicationStatus = ApplicationStatus.DRAFT
    referral_id: UUID | None = None
    submitted_on: date | None = None
    panel_date: date | None = None
    decision: PanelDecision | None = None
    withdrawn_on: date | None = None
    withdrawal_reason: str | None = None

    @classmethod
    def open(cls, application_id: UUID, school_urn: str, financial_year: FinancialYear,
             scope: ApplicationScope, evidence: ApplicationEvidence | None = None, *,
             referral_id: UUID | None = None) -> Element3Application:
        """A new draft; ``referral_id`` links the TAS referral that recommended it, if any.

        Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` for a bad URN or scope.
        """
        errors = [e for e in (urn_error(school_urn, "school_urn"),) if e is not None]
        if not isinstance(scope, ApplicationScope):
            errors.append(field_error("scope", "must be cohort or whole_school", "scope_invalid"))
        if errors:
            raise invalid(errors)
        return cls(application_id, school_urn, financial_year, scope,
                   evidence or ApplicationEvidence(), referral_id=referral_id)

    @property
    def awarded_pence(self) -> int:
        """What the panel awarded: 0 unless approved or part-approved."""
        return self.decision.amount_pence if self.decision is not None else 0

    def update_evidence(self, evidence: ApplicationEvidence) -> None:
        """Replace the evidence of a draft."""
        self._require(ApplicationAction.EDIT)
        self.evidence = evidence

    def submit(self, submitted_on: date) -> None:
        """Submit a draft for the panel.

        Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` listing each missing
        evidence field.
        """
        self._require(ApplicationAction.SUBMIT)
        missing = self.evidence.missing()
        if missing:
            raise invalid([field_error(f"evidence.{name}", "is required to submit",
                                       "evidence_missing") for name in missing])
        self.status = ApplicationStatus.SUBMITTED
        self.submitted_on = submitted_on

    def place_on_agenda(self, panel_date: date) -> None:
        """List a submitted application on the agenda of the panel meeting on ``panel_date``
        (or move it to a later meeting when deferred).

        Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` for a meeting before the
        submission.
        """
        self._require(ApplicationAction.PLACE_ON_AGENDA)
        if self.submitted_on is not None and panel_date < self.submitted_on:
            raise invalid([field_error("panel_date", "must not be before the submission",
                                       "panel_date_invalid")])
        self.status = ApplicationStatus.ON_AGENDA
        self.panel_date = panel_date

    def decide(self, outcome: PanelOutcome, *, reason: str, decided_on: date,
               amount_pence: int | None = None) -> PanelDecision:
        """Record the panel's decision, with its reason.

        Approved: the amount is the amount asked (``amount_pence`` may be omitted; if given it
        must equal it). Part-approved: ``amount_pence`` is required, above 0 and below the
        amount asked. Declined: no amount. Raises
        :class:`~lfi_funding.domain.errors.InvalidFundingInput` otherwise, or for a blank reason.
        """
        self._require(ApplicationAction.DECIDE)
        asked = self.evidence.amount_requested_pence
        assert asked is not None  # submitted evidence is complete
        errors: list[FieldError] = []
        reason_text = _reason(reason, errors)
        awarded = _decided_amount(outcome, amount_pence, asked, errors)
        if errors:
            raise invalid(errors)
        decision = PanelDecision(outcome, awarded, reason_text, decided_on)
        self.decision = decision
        self.status = _OUTCOME_STATUS[outcome]
        return decision

    def withdraw(self, reason: str, withdrawn_on: date) -> None:
        """Withdraw an application not yet decided, saying why."""
        self._require(ApplicationAction.WITHDRAW)
        errors: list[FieldError] = []
        reason_text = _reason(reason, errors)
        if errors:
            raise invalid(errors)
        self.status = ApplicationStatus.WITHDRAWN
        self.withdrawn_on = withdrawn_on
        self.withdrawal_reason = reason_text

    def _require(self, action: ApplicationAction) -> None:
        if self.status not in ALLOWED_FROM[action]:
            raise IllegalTransition(
                f"Cannot {action.value.replace('_', ' ')} an application that is "
                f"{self.status.value.replace('_', ' ')}",
                extra={"current_status": self.status.value, "action": action.value})


def _reason(reason: object, errors: list[FieldError]) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > MAX_REASON_LENGTH:
        errors.append(field_error("reason", f"a reason of 1 to {MAX_REASON_LENGTH} characters "
                                            "is required", "reason_required"))
    return text


def _decided_amount(outcome: PanelOutcome, amount: int | None, asked: int,
                    errors: list[FieldError]) -> int:
    is_int = isinstance(amount, int) and not isinstance(amount, bool)
    if outcome is PanelOutcome.APPROVED:
        if amount is not None and amount != asked:
            errors.append(field_error("amount", "an approval awards the amount asked; use "
                                                "part_approved for less", "amount_not_asked"))
        return asked
    if outcome is PanelOutcome.PART_APPROVED:
        if amount is None or not is_int or not 0 < amount < asked:
            errors.append(field_error("amount", "a part-approval awards more than 0 and less "
                                                "than the amount asked", "amount_out_of_range"))
            return 0
        return amount
    if not isinstance(outcome, PanelOutcome):
        errors.append(field_error("outcome", "is not a panel outcome", "outcome_invalid"))
    elif amount not in (None, 0):
        errors.append(field_error("amount", "a declined application awards nothing",
                                  "amount_on_decline"))
    return 0
