"""Settings of the funding service (environment variables prefixed ``LFI_FUNDING_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from lfi_shared.settings import DEV_DATABASE_PASSWORD, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LFI_FUNDING_", extra="ignore", frozen=True)

    service_name: str = "funding"
    db_schema: str = "funding"
    database_url: str = (
        f"postgresql+asyncpg://lfi_funding:{DEV_DATABASE_PASSWORD}@127.0.0.1:5432/lfi"
    )
    port: int = 8003

    event_source: str = "/lfi/funding"
    referrals_consumer: str = Field(
        default="funding-referrals",
        description="Durable consumer of the referrals stream (schools, zones, Element 3 "
                    "review requests).")
    consumer_fetch_timeout_s: float = Field(default=5.0, gt=0)
    max_csv_bytes: int = Field(default=20_000_000, ge=1,
                               description="Largest formula-input CSV accepted.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
