"""Errors the funding domain raises; each is an RFC 9457 problem type (see ``lfi_shared``).

The service turns them into responses with ``install_problem_handlers`` from
``lfi_shared.http.problems``; their class attributes give the status, problem type and title.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lfi_shared.http.problems import Conflict, FieldError, InvalidRequest

__all__ = [
    "BudgetExceeded",
    "IllegalTransition",
    "InvalidFundingInput",
    "field_error",
    "invalid",
]

MAX_REPORTED_ERRORS = 50
"""At most this many field errors are listed in one problem (a 25,000-row upload may be all bad)."""


class InvalidFundingInput(InvalidRequest):
    """A value the funding domain cannot accept (422); ``errors`` names every field at fault."""


class IllegalTransition(Conflict):
    """A state change not allowed from the current state (409)."""

    problem_type = "illegal-transition"
    title = "Not allowed in the current state"


class BudgetExceeded(Conflict):
    """A commitment would take the cohort / whole-school block past its budget (409).

    ``remaining_pence`` is what is still uncommitted; the problem body carries it as
    ``remaining`` (a pounds string).
    """

    problem_type = "budget-exceeded"
    title = "Not enough budget remains"

    def __init__(self, detail: str, *, remaining_pence: int, requested_pence: int,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail, extra=extra)
        self.remaining_pence = remaining_pence
        self.requested_pence = requested_pence


def field_error(field: str, message: str, code: str) -> FieldError:
    """One field at fault."""
    return FieldError(field=field, message=message, code=code)


def invalid(errors: Sequence[FieldError], detail: str | None = None) -> InvalidFundingInput:
    """An :class:`InvalidFundingInput` listing ``errors`` (capped), its detail naming the first."""
    if not errors:
        raise ValueError("invalid() needs at least one field error")
    shown = list(errors[:MAX_REPORTED_ERRORS])
    if detail is None:
        detail = "; ".join(f"{e.field}: {e.message}" for e in shown[:5])
        if len(errors) > len(shown):
            detail += f" (and {len(errors) - len(shown)} more errors not listed)"
        elif len(errors) > 5:
            detail += f" (and {len(errors) - 5} more)"
    return InvalidFundingInput(detail, errors=shown)
