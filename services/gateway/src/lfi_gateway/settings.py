"""Settings of the gateway (environment variables prefixed ``LFI_GATEWAY_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from lfi_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LFI_GATEWAY_", extra="ignore", frozen=True)

    service_name: str = "gateway"
    port: int = 8000

    referrals_url: str = "http://127.0.0.1:8001"
    placements_url: str = "http://127.0.0.1:8002"
    funding_url: str = "http://127.0.0.1:8003"
    events_url: str = "http://127.0.0.1:8004"
    upstream_timeout_s: float = Field(default=10.0, gt=0)

    def upstreams(self) -> dict[str, str]:
        return {
            "referrals": self.referrals_url,
            "placements": self.placements_url,
            "funding": self.funding_url,
            "events": self.events_url,
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
