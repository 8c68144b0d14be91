"""Settings of the placements service (environment variables prefixed ``LFI_PLACEMENTS_``)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from lfi_shared.settings import DEV_DATABASE_PASSWORD, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LFI_PLACEMENTS_", extra="ignore", frozen=True)

    service_name: str = "placements"
    db_schema: str = "placements"
    database_url: str = (
        f"postgresql+asyncpg://lfi_placements:{DEV_DATABASE_PASSWORD}@127.0.0.1:5432/lfi"
    )
    port: int = 8002

    # Offers: how many days an offer stays open before the sweep expires it.
    offer_valid_days: int = Field(default=14, ge=1, le=365)
    # The expiry sweep (a background worker); 0 turns the worker off (the officer's
    # endpoint `expire_due_offers` and the sweep's command still work).
    offer_sweep_interval_s: float = Field(default=3600.0, ge=0)
    # Capacity views: how far ahead the forecasts look by default.
    forecast_weeks: int = Field(default=12, ge=1, le=104)
    forecast_terms: int = Field(default=3, ge=1, le=12)
    # Development and tests only: the service's "today" (the calendar's seeded year is past).
    fixed_today: date | None = None

    @model_validator(mode="after")
    def _no_fixed_today_in_production(self) -> Settings:
        if self.fixed_today is not None and not self.is_development:
            raise ValueError("fixed_today is for development and tests only")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
