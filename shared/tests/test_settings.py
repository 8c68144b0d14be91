"""Settings refuse development defaults outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lfi_shared.settings import ServiceSettings


def test_development_defaults_are_accepted_in_development() -> None:
    settings = ServiceSettings(environment="development")
    assert settings.auth_algorithms == ("RS256",)


@pytest.mark.parametrize("missing", ["password", "jwks", "issuer"])
def test_production_refuses_each_default_secret(missing: str) -> None:
    good = {
        "environment": "production",
        "database_url": "postgresql+asyncpg://lfi_referrals:s3cret@db:5432/lfi",
        "auth_jwks_url": "https://login.example/keys",
        "auth_issuer": "https://login.example/tenant/v2.0",
        "auth_audience": "api://lfi-prod",
    }
    ServiceSettings(**good)  # the complete production configuration is accepted
    bad = dict(good)
    if missing == "password":
        bad.pop("database_url")
    elif missing == "jwks":
        bad.pop("auth_jwks_url")
    else:
        bad.pop("auth_issuer")
    with pytest.raises(ValidationError, match="refusing to start in production"):
        ServiceSettings(**bad)


def test_production_refuses_symmetric_algorithms() -> None:
    with pytest.raises(ValidationError, match="asymmetric"):
        ServiceSettings(
            environment="production",
            database_url="postgresql+asyncpg://r:s3cret@db/lfi",
            auth_jwks_url="https://login.example/keys",
            auth_issuer="https://login.example/t", auth_audience="api://x",
            auth_algorithms=("HS256",),
        )


def test_namespace_prefixes_subjects_and_streams() -> None:
    plain = ServiceSettings()
    spaced = ServiceSettings(nats_namespace="t1234")
    assert plain.subject_for("lfi.referrals.referral.submitted.v1") == "lfi.referrals.referral.submitted.v1"
    assert spaced.subject_for("lfi.referrals.>") == "t1234.lfi.referrals.>"
    assert plain.stream_name("referrals") == "LFI_REFERRALS"
    assert spaced.stream_name("referrals") == "T1234_LFI_REFERRALS"
