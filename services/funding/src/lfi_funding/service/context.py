"""What every use case needs: the session, settings, who acts, the time, and the outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lfi_funding.db.models import platform
from lfi_funding.settings import Settings
from lfi_shared.auth import Principal, Role
from lfi_shared.messaging import EventContract, record_event

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class FundingContext:
    """One unit of work: a request or a consumed event."""

    session: AsyncSession
    settings: Settings
    actor: str
    now: datetime
    traceparent: str | None = None

    @property
    def today(self) -> date:
        return self.now.date()

    async def emit(self, event: EventContract, *, subject: str,
                   correlation_id: str | None = None) -> None:
        """Record ``event`` in the outbox, in this unit of work's transaction."""
        await record_event(self.session, platform.messaging, self.settings, event,
                           subject=subject, correlation_id=correlation_id,
                           traceparent=self.traceparent, source=self.settings.event_source)


SCHOOL_SCOPED = Role.school_staff
"""The one role limited to its own schools (the token's ``school_urns``)."""

ALL_SCHOOLS_ROLES = frozenset({Role.funding_officer, Role.panel_member, Role.la_admin,
                               Role.auditor})


def visible_urns(principal: Principal) -> frozenset[str] | None:
    """The schools whose allocations and applications ``principal`` may see (``None``: all)."""
    if principal.has_any_role(*ALL_SCHOOLS_ROLES):
        return None
    return principal.school_urns if principal.has_role(SCHOOL_SCOPED) else frozenset()


def may_see_school(principal: Principal, urn: str) -> bool:
    urns = visible_urns(principal)
    return urns is None or urn in urns
