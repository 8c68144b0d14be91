"""What the placements service consumes: placement requests from referrals, and the zone and
school read models. Each handler runs in the consumer's transaction, with the inbox row that
makes it idempotent by event id; placement requests are also deduplicated by ``request_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts import referrals
from lfi_placements.db.models import PlacementRequestRow, School, Zone
from lfi_placements.domain.identifiers import PrimaryNeed, YearGroup
from lfi_placements.domain.vocabulary import ProvisionKind
from lfi_placements.service.context import UseCaseContext
from lfi_placements.service.placing import NewRequest, receive_request
from lfi_placements.settings import Settings
from lfi_shared.messaging import Envelope, EventContract, Handler, PermanentEventError

CONSUMER_NAME = "placements-from-referrals"
ACTOR = "referrals-events"


C = TypeVar("C", bound=EventContract)


def _parse(contract: type[C], envelope: Envelope) -> C:
    try:
        return contract.from_envelope(envelope)
    except ValidationError as exc:
        # Retrying cannot mend a malformed event: dead-letter it at once (no values echoed).
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise PermanentEventError(f"{envelope.type} is not valid: {fields}") from None


def handlers(settings: Settings) -> Mapping[str, Handler]:
    """The handlers by event type, bound to the service's settings."""

    async def on_placement_requested(session: AsyncSession, envelope: Envelope) -> None:
        event = _parse(referrals.ReferralPlacementRequested, envelope)
        if await session.get(PlacementRequestRow, event.request_id) is not None:
            return  # the same request sent again under another event id
        try:
            year_group = YearGroup(event.year_group)
            needs = tuple(PrimaryNeed(n).value for n in event.needs)
        except ValueError as exc:
            raise PermanentEventError(f"{envelope.type}: unknown code ({exc})") from None
        if not (len(event.home_school_urn) == 6 and event.home_school_urn.isdigit()):
            raise PermanentEventError(f"{envelope.type}: home_school_urn is not a URN")
        ctx = UseCaseContext(settings=settings, actor=ACTOR,
                             correlation_id=envelope.correlationid or str(event.referral_id),
                             traceparent=envelope.traceparent)
        await receive_request(session, ctx, NewRequest(
            id=event.request_id, child_id=event.child_id,
            home_school_urn=event.home_school_urn, zone_id=event.zone_id,
            year_group=year_group.value, needs=needs,
            provision_type=ProvisionKind(event.provision_type), priority=event.priority,
            requested_start=event.requested_start, requested_end=None,
            referral_id=event.referral_id, source_event_id=envelope.event_id,
            correlation_id=envelope.correlationid or str(event.referral_id)))

    async def on_zone(session: AsyncSession, envelope: Envelope) -> None:
        zone: referrals.ZoneCreated | referrals.ZoneRenamed
        if envelope.type == referrals.ZoneCreated.event_type:
            zone = _parse(referrals.ZoneCreated, envelope)
        else:
            zone = _parse(referrals.ZoneRenamed, envelope)
        values = {"id": zone.zone_id, "code": zone.code, "name": zone.name,
                  "updated_at": datetime.now(UTC)}
        await session.execute(insert(Zone).values(**values).on_conflict_do_update(
            index_elements=[Zone.id], set_=values))

    async def on_school(session: AsyncSession, envelope: Envelope) -> None:
        school: referrals.SchoolRegistered | referrals.SchoolUpdated
        if envelope.type == referrals.SchoolRegistered.event_type:
            school = _parse(referrals.SchoolRegistered, envelope)
        else:
            school = _parse(referrals.SchoolUpdated, envelope)
        if not (len(school.urn) == 6 and school.urn.isdigit()):
            raise PermanentEventError(f"{envelope.type}: urn is not a URN")
        values = {"urn": school.urn, "name": school.name, "phase": school.phase,
                  "status": school.status, "zone_id": school.zone_id,
                  "updated_at": datetime.now(UTC)}
        await session.execute(insert(School).values(**values).on_conflict_do_update(
            index_elements=[School.urn], set_=values))

    return {
        referrals.ReferralPlacementRequested.event_type: on_placement_requested,
        referrals.ZoneCreated.event_type: on_zone,
        referrals.ZoneRenamed.event_type: on_zone,
        referrals.SchoolRegistered.event_type: on_school,
        referrals.SchoolUpdated.event_type: on_school,
    }


__all__ = ["CONSUMER_NAME", "handlers"]
