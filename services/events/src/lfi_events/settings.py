"""Settings of the events service (environment variables prefixed ``LFI_EVENTS_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from lfi_shared.settings import DEV_DATABASE_PASSWORD, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LFI_EVENTS_", extra="ignore", frozen=True)

    service_name: str = "events"
    db_schema: str = "events"
    database_url: str = (
        f"postgresql+asyncpg://lfi_events:{DEV_DATABASE_PASSWORD}@127.0.0.1:5432/lfi"
    )
    port: int = 8004

    # The producing services whose streams the store consumes (one durable consumer each).
    producers: tuple[str, ...] = ("referrals", "placements", "funding")
    store_fetch_timeout_s: float = Field(default=5.0, gt=0)
    store_batch_size: int = Field(default=100, ge=1, le=1000)

    # Live stream (SSE): woken by LISTEN/NOTIFY, polling the store as a fallback.
    live_poll_interval_s: float = Field(default=1.0, gt=0)
    live_batch_size: int = Field(default=200, ge=1, le=5000)
    live_ping_s: float = Field(default=15.0, gt=0)

    # Dead letters: JetStream advisories captured in a stream of their own.
    advisories_max_age_s: float = Field(default=30 * 24 * 3600, gt=0)
    advisories_fetch_timeout_s: float = Field(default=5.0, gt=0)

    # Replays: published to the replays stream, read by the named consumer.
    replay_poll_interval_s: float = Field(default=2.0, gt=0)
    replays_max_age_s: float = Field(default=7 * 24 * 3600, gt=0)
    replay_batch_size: int = Field(default=500, ge=1, le=10_000)

    timeline_max_events: int = Field(default=2000, ge=1, le=100_000)

    # A child's personal data in an event (compared without case, '_' or '-').
    personal_data_fields: tuple[str, ...] = (
        "first_name", "firstname", "forename", "forenames", "given_name", "given_names",
        "middle_name", "middle_names", "last_name", "lastname", "surname", "family_name",
        "full_name", "fullname", "legal_name", "preferred_name", "known_as",
        "date_of_birth", "dob", "birth_date", "birthdate", "born_on",
        "upn", "unique_pupil_number", "former_upn",
    )
    child_contexts: tuple[str, ...] = ("child", "pupil", "student", "learner", "young_person")
    child_name_fields: tuple[str, ...] = ("name", "names", "display_name", "birthday")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
