"""The referral's lifecycle: its statuses, the actions on it, and which action is legal when.

::

    draft → submitted → triaged → accepted → in_support → closed
              ↘ declined ↙  (from submitted or triaged)
    withdrawn  (from draft, submitted, triaged or accepted)

``amend`` edits a draft; ``request_placement`` and ``request_element3_review`` keep the status
and are legal only once the referral is accepted (accepted or in_support); ``anonymise`` keeps
the status and is legal only on a finished referral (closed, declined or withdrawn).

Decisions where the design is silent: ``accept`` only from ``triaged`` and ``close`` only from
``in_support`` (a plan that never starts is withdrawn, not closed).
"""

from __future__ import annotations

from enum import StrEnum

from lfi_referrals.domain.errors import TransitionNotAllowed


class ReferralStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    TRIAGED = "triaged"
    ACCEPTED = "accepted"
    IN_SUPPORT = "in_support"
    CLOSED = "closed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class ReferralAction(StrEnum):
    AMEND = "amend"
    SUBMIT = "submit"
    TRIAGE = "triage"
    ACCEPT = "accept"
    START_SUPPORT = "start_support"
    CLOSE = "close"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    REQUEST_PLACEMENT = "request_placement"
    REQUEST_ELEMENT3_REVIEW = "request_element3_review"
    ANONYMISE = "anonymise"


FINAL_STATUSES: frozenset[ReferralStatus] = frozenset(
    {ReferralStatus.CLOSED, ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN})
"""Statuses no action leads out of (only ``anonymise`` applies to them)."""

_S = ReferralStatus
_A = ReferralAction
_WHILE_SUPPORTED = {_S.ACCEPTED: _S.ACCEPTED, _S.IN_SUPPORT: _S.IN_SUPPORT}

_TRANSITIONS: dict[ReferralAction, dict[ReferralStatus, ReferralStatus]] = {
    _A.AMEND: {_S.DRAFT: _S.DRAFT},
    _A.SUBMIT: {_S.DRAFT: _S.SUBMITTED},
    _A.TRIAGE: {_S.SUBMITTED: _S.TRIAGED},
    _A.ACCEPT: {_S.TRIAGED: _S.ACCEPTED},
    _A.START_SUPPORT: {_S.ACCEPTED: _S.IN_SUPPORT},
    _A.CLOSE: {_S.IN_SUPPORT: _S.CLOSED},
    _A.DECLINE: {_S.SUBMITTED: _S.DECLINED, _S.TRIAGED: _S.DECLINED},
    _A.WITHDRAW: {status: _S.WITHDRAWN
                  for status in (_S.DRAFT, _S.SUBMITTED, _S.TRIAGED, _S.ACCEPTED)},
    _A.REQUEST_PLACEMENT: _WHILE_SUPPORTED,
    _A.REQUEST_ELEMENT3_REVIEW: _WHILE_SUPPORTED,
    _A.ANONYMISE: {status: status for status in (_S.CLOSED, _S.DECLINED, _S.WITHDRAWN)},
}

_ACTION_PHRASE: dict[ReferralAction, str] = {
    _A.AMEND: "amend",
    _A.SUBMIT: "submit",
    _A.TRIAGE: "triage",
    _A.ACCEPT: "accept",
    _A.START_SUPPORT: "start support on",
    _A.CLOSE: "close",
    _A.DECLINE: "decline",
    _A.WITHDRAW: "withdraw",
    _A.REQUEST_PLACEMENT: "request a placement for",
    _A.REQUEST_ELEMENT3_REVIEW: "request an Element 3 review for",
    _A.ANONYMISE: "anonymise",
}


def is_allowed(current: ReferralStatus, action: ReferralAction) -> bool:
    """Whether ``action`` is legal on a referral in status ``current``."""
    return current in _TRANSITIONS[action]


def allowed_actions(current: ReferralStatus) -> frozenset[ReferralAction]:
    """The actions legal on a referral in status ``current`` (for the API to offer)."""
    return frozenset(action for action in ReferralAction if is_allowed(current, action))


def next_status(current: ReferralStatus, action: ReferralAction) -> ReferralStatus:
    """The status a referral in ``current`` moves to when ``action`` is taken.

    Raises:
        TransitionNotAllowed: (a 409 ``Conflict``) naming the current status and the action,
            with both also as ``current_status`` and ``action`` in the problem's extra members.
    """
    target = _TRANSITIONS[action].get(current)
    if target is None:
        raise TransitionNotAllowed(
            f"Cannot {_ACTION_PHRASE[action]} a referral that is "
            f"{current.value.replace('_', ' ')}.",
            extra={"current_status": current.value, "action": action.value},
        )
    return target
