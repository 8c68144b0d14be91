"""Retention: anonymise finished referrals (and phoneline contacts) past their retention.

``python -m lfi_referrals anonymise`` reports what is past retention and changes nothing;
``--apply`` anonymises it in one transaction. Anonymising a referral drops the child's identity,
the parental agreement and every free-text field (the referral's own and its case notes'), and
keeps what statistics need (see :mod:`lfi_referrals.domain.retention`). A contact past retention
loses its free text (summary, advice, follow-up). No event is published: events never carried
the identity in the first place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_referrals.db.mapping import write_referral
from lfi_referrals.db.models import CaseNote, PhonelineContact, ReferralRow
from lfi_referrals.domain.lifecycle import FINAL_STATUSES
from lfi_referrals.domain.retention import (
    RecordClass,
    anonymise_referral,
    is_past_retention,
    referral_is_past_retention,
)
from lfi_referrals.service.referrals import load_referral
from lfi_referrals.settings import Settings


@dataclass(slots=True)
class RetentionReport:
    applied: bool
    today: date
    referrals: dict[str, int] = field(default_factory=dict)
    referral_ids: list[UUID] = field(default_factory=list)
    phoneline_contacts: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"applied": self.applied, "today": self.today.isoformat(),
                "referrals_past_retention": self.referrals,
                "phoneline_contacts_past_retention": self.phoneline_contacts}


async def anonymise_past_retention(session: AsyncSession, settings: Settings, *, at: datetime,
                                   apply: bool) -> RetentionReport:
    """Find (and with ``apply``, anonymise) every record past retention on ``at``'s date."""
    policy = settings.referral_policy()
    schedule = settings.retention_schedule()
    today = policy.local_date(at)
    report = RetentionReport(applied=apply, today=today)
    ids = list(await session.scalars(
        select(ReferralRow.id).where(ReferralRow.status.in_([s.value for s in FINAL_STATUSES]),
                                     ReferralRow.anonymised_at.is_(None))
        .order_by(ReferralRow.created_at)))
    for referral_id in ids:
        loaded = await load_referral(session, referral_id, for_update=apply)
        referral = loaded.referral
        if not referral_is_past_retention(referral, schedule, today, timezone=policy.timezone):
            continue
        kind = (RecordClass.CHILD_REFERRAL if referral.child_id is not None
                else RecordClass.GROUP_REFERRAL)
        report.referrals[kind.value] = report.referrals.get(kind.value, 0) + 1
        report.referral_ids.append(referral_id)
        if not apply:
            continue
        row = loaded.row
        write_referral(row, anonymise_referral(referral, at=at))
        row.already_tried = None
        row.focus_area = None
        row.exclusions = [{"kind": e.get("kind"), "start_on": None,
                           "school_days": e.get("school_days")} for e in row.exclusions or []]
        row.version += 1
        row.updated_at = at
        await session.execute(update(CaseNote).where(CaseNote.referral_id == referral_id,
                                                     CaseNote.body.is_not(None))
                              .values(body=None, redacted_at=at))
        await session.execute(update(PhonelineContact)
                              .where(PhonelineContact.referral_id == referral_id)
                              .values(summary=None, advice_given=None, follow_up=None,
                                      anonymised_at=at))
    contact_rule = schedule.rule_for(RecordClass.PHONELINE_CONTACT)
    contacts = await session.scalars(select(PhonelineContact).where(
        PhonelineContact.anonymised_at.is_(None)))
    for contact in contacts:
        recorded_on = contact.received_at.astimezone(policy.timezone).date()
        if not is_past_retention(recorded_on, contact_rule, today):
            continue
        report.phoneline_contacts += 1
        if apply:
            contact.summary = contact.advice_given = contact.follow_up = None
            contact.anonymised_at = at
            contact.version += 1
    await session.flush()
    return report
