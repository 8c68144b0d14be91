"""The configurable numbers and data the referral rules use, passed in by the service layer
(from settings and reference data), so no rule hard-codes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferralPolicy:
    """The referral rules' parameters.

    Attributes:
        triage_working_days: working days TAS has to triage a submitted referral.
        closure_dates: bank holidays and other closure days, not working days.
        max_ep_hours: most Educational Psychologist hours one support plan may give.
        timezone: where the council works (``ZoneInfo("Europe/London")``); turns a moment into
            the local date a person means by "today".
    """

    triage_working_days: int
    closure_dates: frozenset[date]
    max_ep_hours: Decimal
    timezone: tzinfo

    def __post_init__(self) -> None:
        if self.triage_working_days < 0:
            raise ValueError("triage_working_days cannot be negative")
        if not self.max_ep_hours.is_finite() or self.max_ep_hours < 0:
            raise ValueError("max_ep_hours must be a finite number, zero or more")

    def local_date(self, at: datetime) -> date:
        """The local calendar date of the moment ``at``.

        Raises:
            ValueError: if ``at`` has no UTC offset.
        """
        require_aware(at)
        return at.astimezone(self.timezone).date()


def require_aware(moment: datetime) -> None:
    """Refuse a naive moment: every time in the domain carries its UTC offset.

    Raises:
        ValueError: if ``moment`` has no UTC offset.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moments must carry a UTC offset")
