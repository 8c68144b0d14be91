"""Settings of the gateway (environment variables prefixed ``LFI_GATEWAY_``).

Lists are given as JSON in the environment, e.g.
``LFI_GATEWAY_CORS_ORIGINS='["https://lfi.norfolk.gov.uk"]'``.
"""

from __future__ import annotations

from functools import lru_cache

from limits import parse as parse_rate_limit
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from lfi_shared.settings import ServiceSettings

MIB = 1024 * 1024


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LFI_GATEWAY_", extra="ignore", frozen=True)

    service_name: str = "gateway"
    # The gateway keeps no data; the base class's development URL would be refused in production.
    database_url: str = ""
    port: int = 8000

    # Upstream services (their base URLs, no trailing path).
    referrals_url: str = "http://127.0.0.1:8001"
    placements_url: str = "http://127.0.0.1:8002"
    funding_url: str = "http://127.0.0.1:8003"
    events_url: str = "http://127.0.0.1:8004"

    # Upstream calls. The read timeout is the default of every route; a route may set its own,
    # and a streaming route (server-sent events) has none.
    upstream_timeout_s: float = Field(default=10.0, gt=0, description="Default read timeout.")
    upstream_connect_timeout_s: float = Field(default=2.0, gt=0)
    upstream_max_connections: int = Field(default=100, ge=1, le=10_000)
    upstream_max_keepalive: int = Field(default=20, ge=0, le=10_000)
    upstream_keepalive_expiry_s: float = Field(default=30.0, ge=0)

    # Aggregated readiness (/health, /health/ready): each upstream's /health/ready.
    health_timeout_s: float = Field(default=2.0, gt=0)

    # The merged OpenAPI document (/openapi.json).
    openapi_cache_ttl_s: float = Field(default=300.0, ge=0)
    openapi_retry_after_s: float = Field(
        default=10.0, ge=0, description="How long a document missing a service is kept.")
    openapi_fetch_timeout_s: float = Field(default=3.0, gt=0)
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where clients reach the gateway; links in the OpenAPI document use it.",
    )

    # Browsers: the origins allowed to call the API (the frontend's), nothing else.
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:5173"])
    cors_max_age_s: int = Field(default=600, ge=0)

    # Rate limit per client (the token's subject, else the client address), in the `limits`
    # notation ("600/minute", "10/second;600/minute" takes the first). The counters live in
    # each gateway replica's memory unless a shared storage is named, e.g. "redis://host:6379"
    # (which needs the `limits[redis]` extra installed).
    rate_limit: str = "600/minute"
    rate_limit_storage_uri: str = "memory://"

    # Request bodies larger than this are refused (413), counted while they stream.
    max_body_bytes: int = Field(default=1 * MIB, ge=0)

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_is_valid(cls, value: str) -> str:
        parse_rate_limit(value)  # raises ValueError on a bad notation
        return value

    @field_validator("referrals_url", "placements_url", "funding_url", "events_url",
                     "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def upstreams(self) -> dict[str, str]:
        """Each upstream service's base URL by service name."""
        return {
            "referrals": self.referrals_url,
            "placements": self.placements_url,
            "funding": self.funding_url,
            "events": self.events_url,
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
