"""Settings of the referrals service (environment variables prefixed ``LFI_REFERRALS_``).

Every number the referral rules use is here (or in seed data), never a literal in code:
triage working days and closure dates, the EP hours cap, the suspension cap, the local
authority's code, and the retention of each record class.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from lfi_referrals.domain.policy import ReferralPolicy
from lfi_referrals.domain.retention import (
    RecordClass,
    RetentionBase,
    RetentionRule,
    RetentionSchedule,
)
from lfi_shared.settings import DEV_DATABASE_PASSWORD, ServiceSettings

# England's bank holidays in the 2025/26 and 2026/27 academic years; later years are data too.
DEFAULT_CLOSURE_DATES: tuple[date, ...] = (
    date(2025, 8, 25), date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1),
    date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 4), date(2026, 5, 25), date(2026, 8, 31),
    date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1), date(2027, 3, 26),
    date(2027, 3, 29), date(2027, 5, 3), date(2027, 5, 31), date(2027, 8, 30),
)


class RetentionSetting(BaseModel):
    """One record class's retention: ``years`` after the ``base`` date."""

    base: RetentionBase
    years: int = Field(ge=0)


def _default_retention() -> dict[RecordClass, RetentionSetting]:
    return {
        # SEN records are commonly kept to date of birth + 25 years (DESIGN §1).
        RecordClass.CHILD_REFERRAL: RetentionSetting(base=RetentionBase.DATE_OF_BIRTH, years=25),
        RecordClass.GROUP_REFERRAL: RetentionSetting(base=RetentionBase.FINISHED_ON, years=7),
        RecordClass.PHONELINE_CONTACT: RetentionSetting(base=RetentionBase.RECORDED_ON, years=3),
        RecordClass.ACCESS_AUDIT: RetentionSetting(base=RetentionBase.RECORDED_ON, years=7),
    }


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LFI_REFERRALS_", extra="ignore", frozen=True)

    service_name: str = "referrals"
    db_schema: str = "referrals"
    database_url: str = (
        f"postgresql+asyncpg://lfi_referrals:{DEV_DATABASE_PASSWORD}@127.0.0.1:5432/lfi"
    )
    port: int = 8001

    # The local authority whose schools the register holds (Norfolk: 926).
    la_code: str = Field(default="926", pattern=r"^[0-9]{3}$")
    timezone: str = "Europe/London"
    triage_working_days: int = Field(default=5, ge=0, le=60)
    closure_dates: tuple[date, ...] = DEFAULT_CLOSURE_DATES
    max_ep_hours: Decimal = Field(default=Decimal(100), ge=0)
    suspension_cap_school_days: int = Field(default=45, ge=0)
    retention: dict[RecordClass, RetentionSetting] = Field(default_factory=_default_retention)
    # How long a consumer waits for outcome events per fetch (shorter in tests).
    consumer_fetch_timeout_s: float = Field(default=5.0, gt=0)
    # Largest school register CSV accepted in one request.
    register_import_max_bytes: int = Field(default=20_000_000, ge=1)
    def referral_policy(self) -> ReferralPolicy:
        """The domain's parameters, from these settings."""
        return _policy(self.triage_working_days, self.closure_dates, self.max_ep_hours,
                       self.timezone)

    def retention_schedule(self) -> RetentionSchedule:
        return RetentionSchedule(rules={
            record_class: RetentionRule(base=rule.base, years=rule.years)
            for record_class, rule in self.retention.items()
        })


@lru_cache(maxsize=8)
def _policy(triage_working_days: int, closure_dates: tuple[date, ...], max_ep_hours: Decimal,
            timezone: str) -> ReferralPolicy:
    # Made once per set of values: every request asks for it, and it never changes.
    return ReferralPolicy(triage_working_days=triage_working_days,
                          closure_dates=frozenset(closure_dates), max_ep_hours=max_ep_hours,
                          timezone=ZoneInfo(timezone))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
