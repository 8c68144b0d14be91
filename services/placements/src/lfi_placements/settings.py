"""Settings of the placements service (environment variables prefixed ``LFI_PLACEMENTS_``)."""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
