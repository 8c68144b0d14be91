"""What every use case needs besides the session: settings, the clock, who acts and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from lfi_placements.settings import Settings


@dataclass(frozen=True)
class UseCaseContext:
    """The settings, the actor (a token subject, or a worker's name) and the clock."""

    settings: Settings
    actor: str
    correlation_id: str | None = None
    traceparent: str | None = None

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        """The service's today: the real date, or ``fixed_today`` in development and tests."""
        return self.settings.fixed_today or self.now().date()
