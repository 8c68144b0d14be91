"""Handlers of the referrals service's events; each runs in the consumer's transaction with the
inbox row, so a redelivered event (same id) is applied once.

- ``school.registered`` / ``school.updated`` and ``zone.created`` / ``zone.renamed`` keep the
  local read model of schools (URN, name, zone) used by reports and exports; an event older
  than the row (out of order) changes nothing.
- ``referral.element3_review_requested`` opens a draft application for the school. Besides
  the inbox (by event id), the application's unique ``review_request_id`` makes a re-sent
  request (another event id, same request) open nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts.referrals import (
    ReferralElement3ReviewRequested,
    SchoolRegistered,
    SchoolUpdated,
    ZoneCreated,
    ZoneRenamed,
)
from lfi_funding.db.models import Application, School, Zone
from lfi_funding.domain.applications import ApplicationEvidence
from lfi_funding.domain.errors import InvalidFundingInput
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.money import parse_pounds
from lfi_funding.service.applications import open_application
from lfi_funding.service.context import FundingContext
from lfi_funding.settings import Settings
from lfi_shared.messaging import Envelope, Handler, PermanentEventError
from lfi_shared.messaging.workers import Subscription


async def on_school(session: AsyncSession, envelope: Envelope) -> None:
    contract = SchoolRegistered if envelope.type == SchoolRegistered.event_type else SchoolUpdated
    try:
        event = contract.from_envelope(envelope)
    except ValidationError as exc:
        raise PermanentEventError(f"invalid {envelope.type}: {exc.error_count()} errors") from exc
    values = {"name": event.name, "laestab": event.laestab, "phase": event.phase,
              "status": event.status, "zone_id": event.zone_id,
              "number_of_pupils": event.number_of_pupils, "updated_at": envelope.time}
    stmt = insert(School).values(urn=event.urn, **values)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[School.urn], set_=values, where=School.updated_at <= envelope.time))


async def on_zone(session: AsyncSession, envelope: Envelope) -> None:
    contract = ZoneCreated if envelope.type == ZoneCreated.event_type else ZoneRenamed
    try:
        event = contract.from_envelope(envelope)
    except ValidationError as exc:
        raise PermanentEventError(f"invalid {envelope.type}: {exc.error_count()} errors") from exc
    values = {"code": event.code, "name": event.name, "updated_at": envelope.time}
    stmt = insert(Zone).values(zone_id=event.zone_id, **values)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[Zone.zone_id], set_=values, where=Zone.updated_at <= envelope.time))


def _needs_text(event: ReferralElement3ReviewRequested) -> str | None:
    parts = [f"{code}: {count}" for code, count in sorted(event.needs_profile.items())]
    if event.year_groups:
        parts.append("year groups " + ", ".join(event.year_groups))
    return "; ".join(parts) or None


def element3_handler(settings: Settings) -> Handler:
    """The handler opening an application from a TAS Element 3 review request."""

    async def on_review_requested(session: AsyncSession, envelope: Envelope) -> None:
        try:
            event = ReferralElement3ReviewRequested.from_envelope(envelope)
        except ValidationError as exc:
            raise PermanentEventError(
                f"invalid {envelope.type}: {exc.error_count()} errors") from exc
        opened = await session.execute(select(Application.id).where(
            Application.review_request_id == event.request_id))
        if opened.first() is not None:
            return
        try:
            amount = (None if event.amount_requested is None
                      else parse_pounds(event.amount_requested, field="amount_requested"))
        except InvalidFundingInput:
            amount = None  # the school states it before submitting
        ctx = FundingContext(session=session, settings=settings,
                             actor=f"tas-referral:{event.referral_id}",
                             now=datetime.now(UTC), traceparent=envelope.traceparent)
        focus = event.focus.strip() if event.focus and event.focus.strip() else None
        try:
            evidence = ApplicationEvidence(needs_profile=_needs_text(event),
                                           planned_approach=focus,
                                           cohort_size=event.cohort_size or None,
                                           amount_requested_pence=amount or None)
            await open_application(
                ctx, school_urn=event.school_urn,
                financial_year=FinancialYear.containing(event.requested_at.date()).label,
                scope=event.subject_kind, evidence=evidence, referral_id=event.referral_id,
                review_request_id=event.request_id)
        except InvalidFundingInput as exc:
            raise PermanentEventError(f"review request refused: {exc.detail}") from exc

    return on_review_requested


def referrals_subscription(settings: Settings,
                           options: Mapping[str, float | int] | None = None) -> Subscription:
    """The durable consumer of the referrals stream."""
    return Subscription(
        name=settings.referrals_consumer, producer="referrals",
        handlers={
            SchoolRegistered.event_type: on_school,
            SchoolUpdated.event_type: on_school,
            ZoneCreated.event_type: on_zone,
            ZoneRenamed.event_type: on_zone,
            ReferralElement3ReviewRequested.event_type: element3_handler(settings),
        },
        options=dict(options or {"fetch_timeout_s": settings.consumer_fetch_timeout_s}),
    )
