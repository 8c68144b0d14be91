"""Errors the referrals domain raises.

Each is a :class:`~lfi_shared.http.problems.DomainError`, so the service turns it into an RFC 9457
problem from its class attributes. Field problems keep the shared ``validation-error`` problem type
(the frontend shows them like schema validation errors); conflicts get their own type.

No message here ever quotes a child's name, date of birth or UPN: a :class:`Fault` says what is
wrong with a value without repeating it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lfi_shared.http.problems import Conflict, FieldError, InvalidRequest


@dataclass(frozen=True, slots=True)
class Fault:
    """One thing wrong with a value: a stable machine-readable code and a message that never
    quotes the value."""

    code: str
    message: str

    def at(self, field: str) -> FieldError:
        """This fault as a field error located at ``field`` (e.g. ``"body.child.upn"``)."""
        return FieldError(field=field, message=self.message, code=self.code)


class InvalidIdentifier(InvalidRequest):
    """A UPN, URN, LAESTAB or census code is malformed."""


class InvalidReferral(InvalidRequest):
    """A referral, or a command on it, breaks a rule about its content."""


class TransitionNotAllowed(Conflict):
    """The referral's current status does not allow the attempted action."""

    problem_type = "referral-transition-not-allowed"
    title = "The referral's status does not allow this action"


class RequestAlreadyOpen(Conflict):
    """A placement or Element 3 review is already requested and not yet decided."""

    problem_type = "referral-request-already-open"
    title = "A request of this kind is already open for the referral"


def raise_invalid(detail: str, errors: Sequence[FieldError],
                  error: type[InvalidRequest] = InvalidReferral) -> None:
    """Raise ``error`` listing ``errors`` if there are any; otherwise do nothing.

    Raises:
        InvalidRequest: (the class given, :class:`InvalidReferral` by default) when ``errors`` is
            not empty.
    """
    if errors:
        raise error(detail, errors=errors)
