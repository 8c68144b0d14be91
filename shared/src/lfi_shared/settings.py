"""Settings base shared by every service.

Each service subclasses :class:`ServiceSettings` with its own environment prefix
(``LFI_REFERRALS_``, ``LFI_PLACEMENTS_`` ...). Defaults are good for local development
only: outside ``development`` and ``test`` the class refuses to start with any of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_DATABASE_PASSWORD = "lfi-dev-only"
DEV_ISSUER = "https://auth.lfi.localhost/"
DEV_AUDIENCE = "api://lfi"
# The local development key pair lives in the git-ignored .local/ folder (made by the devstack).
DEFAULT_DEV_KEY_DIR = Path(".local/keys")


class ServiceSettings(BaseSettings):
    """Configuration common to every service; subclasses set ``env_prefix``."""

    model_config = SettingsConfigDict(env_prefix="LFI_", extra="ignore", frozen=True)

    service_name: str = "lfi"
    environment: Literal["development", "test", "production"] = "development"
    version: str = "0.1.0"

    # PostgreSQL: each service connects as its own role, owner of its own schema only.
    database_url: str = Field(
        default=f"postgresql+asyncpg://lfi:{DEV_DATABASE_PASSWORD}@127.0.0.1:5432/lfi",
        description="SQLAlchemy async URL, connecting as the service's own role.",
    )
    db_schema: str = "lfi"
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)

    # NATS JetStream. The namespace prefixes streams, subjects and durable names so that a
    # test run and a `make run` stack can share one NATS server without touching each other.
    nats_url: str = "nats://127.0.0.1:4222"
    nats_namespace: str = ""
    nats_stream_replicas: int = Field(default=1, ge=1, le=5)

    # Outbox relay and consumers.
    relay_poll_interval_s: float = Field(default=1.0, gt=0)
    relay_batch_size: int = Field(default=200, ge=1, le=10_000)
    relay_prune_after_s: float = Field(default=7 * 24 * 3600, ge=0)
    consumer_max_deliver: int = Field(default=5, ge=1, le=100)
    consumer_ack_wait_s: float = Field(default=30.0, gt=0)

    # Bearer tokens (OIDC). In production a JWKS URL from the identity provider (Entra ID).
    auth_issuer: str = DEV_ISSUER
    auth_audience: str = DEV_AUDIENCE
    auth_algorithms: tuple[str, ...] = ("RS256",)
    auth_jwks_url: str | None = None
    auth_jwks_file: Path | None = None
    auth_leeway_s: int = Field(default=30, ge=0, le=300)

    # HTTP.
    host: str = "127.0.0.1"
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted for X-Forwarded-For (the ingress, in a cluster).",
    )
    port: int = Field(default=8000, ge=1, le=65535)
    http_keep_alive_s: int = Field(
        default=75, ge=1, le=3600,
        description="How long an idle client connection is kept open. Longer than the "
                    "gateway's upstream keep-alive (30 s), so that the gateway, not the "
                    "service, closes an idle connection: a request is never sent on a "
                    "connection the service is closing.",
    )
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "test")

    @model_validator(mode="after")
    def _refuse_default_secrets_outside_development(self) -> ServiceSettings:
        if self.is_development:
            return self
        problems: list[str] = []
        if DEV_DATABASE_PASSWORD in self.database_url:
            problems.append("database_url uses the development password")
        if not self.auth_jwks_url:
            problems.append("auth_jwks_url must name the identity provider's JWKS")
        if self.auth_jwks_file is not None:
            problems.append("auth_jwks_file is for development only")
        if self.auth_issuer == DEV_ISSUER or self.auth_audience == DEV_AUDIENCE:
            problems.append("auth_issuer and auth_audience must be the production ones")
        if any(alg.upper().startswith("HS") or alg.lower() == "none" for alg in self.auth_algorithms):
            problems.append("auth_algorithms must be asymmetric (RS256, ES256, ...)")
        if problems:
            raise ValueError(
                f"refusing to start in {self.environment}: " + "; ".join(problems)
            )
        return self

    def subject_for(self, event_type: str) -> str:
        """The NATS subject an event type is published on, inside this namespace."""
        return f"{self.nats_namespace}.{event_type}" if self.nats_namespace else event_type

    def stream_name(self, producer: str) -> str:
        """The JetStream stream holding one producing service's events."""
        base = f"LFI_{producer.upper()}"
        return f"{self.nats_namespace.upper()}_{base}" if self.nats_namespace else base
