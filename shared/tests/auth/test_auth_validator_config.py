"""TokenValidator configuration refuses what would weaken validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from lfi_shared.auth import AuthConfig, AuthenticationError, TokenValidator
from lfi_shared.settings import DEV_AUDIENCE, DEV_ISSUER, ServiceSettings


@pytest.mark.parametrize("algorithms", [("HS256",), ("RS256", "HS512"), ("none",), ()])
def test_symmetric_none_or_empty_algorithm_lists_are_refused(
    algorithms: tuple[str, ...], tmp_path: Path
) -> None:
    config = AuthConfig(
        DEV_ISSUER, DEV_AUDIENCE, auth_algorithms=algorithms, auth_jwks_file=tmp_path / "k.json"
    )
    with pytest.raises(ValueError):
        TokenValidator(config)


def test_both_key_locations_are_refused(tmp_path: Path) -> None:
    config = AuthConfig(
        DEV_ISSUER,
        DEV_AUDIENCE,
        auth_jwks_url="https://login.example/keys",
        auth_jwks_file=tmp_path / "k.json",
    )
    with pytest.raises(ValueError, match="only one"):
        TokenValidator(config)


def test_production_needs_a_key_location_and_https() -> None:
    with pytest.raises(ValueError):
        TokenValidator(AuthConfig("https://idp/", "api://x", environment="production"))
    with pytest.raises(ValueError, match="https"):
        TokenValidator(
            AuthConfig(
                "https://idp/",
                "api://x",
                auth_jwks_url="http://idp/keys",
                environment="production",
            )
        )


def test_service_settings_are_accepted_and_an_empty_token_is_missing(tmp_path: Path) -> None:
    settings = ServiceSettings(environment="test", auth_jwks_file=tmp_path / "jwks.json")
    validator = TokenValidator(settings)
    assert validator.algorithms == ("RS256",)
    with pytest.raises(AuthenticationError, match="missing bearer token"):
        validator.validate("")
