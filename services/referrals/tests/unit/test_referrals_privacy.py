"""No event, error message or representation carries a child's personal data."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from uuid import uuid4

import pytest
from referrals_factories import (
    CHILD_DATE_OF_BIRTH,
    CHILD_FAMILY_NAME,
    CHILD_GIVEN_NAME,
    CHILD_UPN,
    CONCERNS,
    POLICY,
    PRACTITIONER_ID,
    agreement,
    at,
    child_subject,
    cohort_subject,
    draft,
    plan,
    referral_in,
)

from lfi_referrals.domain import referral as r
from lfi_referrals.domain.errors import InvalidReferral
from lfi_referrals.domain.events import ReferralEvent
from lfi_referrals.domain.lifecycle import ReferralStatus
from lfi_referrals.domain.referral import Referral, ReferralChange
from lfi_referrals.domain.subjects import ChildIdentity
from lfi_referrals.domain.support import (
    ClosureOutcome,
    PlacementPriority,
    ProvisionType,
    SupportRequest,
)

PERSONAL = (CHILD_GIVEN_NAME, CHILD_FAMILY_NAME, CHILD_UPN, CHILD_DATE_OF_BIRTH.isoformat(),
            str(CHILD_DATE_OF_BIRTH), CONCERNS)


def _all_events() -> list[ReferralEvent]:
    ref = draft(support_requested=frozenset({SupportRequest.EIB_PLACE}),
                parental_agreement=agreement(date(2025, 10, 6)))
    events: list[ReferralEvent] = []
    steps: list[Callable[[Referral], ReferralChange]] = [
        lambda x: r.submit(x, at=at(1), policy=POLICY),
        lambda x: r.triage(x, practitioner_id=PRACTITIONER_ID, at=at(2)),
        lambda x: r.accept(x, plan=plan(), at=at(3), policy=POLICY),
        lambda x: r.start_support(x, at=at(4)),
        lambda x: r.request_placement(x, request_id=uuid4(), provision_type=ProvisionType.EIB,
                                      priority=PlacementPriority.HIGH, at=at(5), policy=POLICY),
        lambda x: r.close(x, outcome=ClosureOutcome.NEEDS_MET, note=None, at=at(90)),
    ]
    for step in steps:
        change = step(ref)
        events += change.events
        ref = change.referral
    return events


def test_events_carry_no_personal_data_or_free_text() -> None:
    events = _all_events()
    assert len(events) == 6
    for event in events:
        values = [getattr(event, f.name) for f in dataclasses.fields(event)]
        rendered = repr(values)
        assert not any(item in rendered for item in PERSONAL), type(event).__name__
        assert not any(isinstance(v, date) and v == CHILD_DATE_OF_BIRTH for v in values)


def test_event_fields_never_name_personal_data() -> None:
    forbidden = {"name", "given_name", "family_name", "date_of_birth", "upn", "concerns", "note"}
    for event in _all_events():
        assert not forbidden & {f.name for f in dataclasses.fields(event)}


def test_a_printed_referral_shows_neither_identity_nor_free_text() -> None:
    ref = r.close(referral_in(ReferralStatus.IN_SUPPORT), outcome=ClosureOutcome.OTHER,
                  note=f"{CHILD_GIVEN_NAME} moved away", at=at(90)).referral
    for printed in (repr(child_subject()), repr(draft()), repr(ref), repr(plan()),
                    repr(cohort_subject(description=CONCERNS))):
        assert not any(item in printed for item in PERSONAL), printed
    assert "Trauma-informed" not in repr(plan())


def test_validation_errors_never_quote_the_child() -> None:
    bad = child_subject(identity=ChildIdentity(
        given_name=CHILD_GIVEN_NAME, family_name=CHILD_FAMILY_NAME,
        date_of_birth=date(2031, 1, 1), upn="A" + CHILD_UPN[1:]))
    with pytest.raises(InvalidReferral) as caught:
        draft(bad)
    text = caught.value.detail + repr(caught.value.errors)
    assert caught.value.errors is not None and len(caught.value.errors) == 2
    assert not any(item in text for item in (*PERSONAL, "A" + CHILD_UPN[1:], "2031"))
