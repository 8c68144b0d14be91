"""Auth test fixtures (a local signing key, a token factory, a validator for it).

In a service's tests::

    app.state.token_validator = token_validator          # or make_token_validator(local_keys)
    token = token_factory(Role.school_staff, school_urns=["123456"])
    await client.get("/v1/referrals", headers=bearer(token))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import pytest

from lfi_shared.auth.local_keys import LocalKeyPair, ensure_local_keypair
from lfi_shared.auth.principal import Role
from lfi_shared.auth.tokens import AuthConfig, TokenValidator
from lfi_shared.settings import DEV_AUDIENCE, DEV_ISSUER

__all__ = ["local_keys", "token_factory", "token_validator"]


class TokenFactory(Protocol):
    """Issues a token signed with the session's local key, for the dev issuer and audience."""

    def __call__(
        self,
        roles: Role | str | Iterable[Role | str],
        *,
        school_urns: Iterable[str] = (),
        zones: Iterable[str] = (),
        scopes: Iterable[str] = (),
        subject: str | None = None,
        lifetime_s: int = 3600,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str: ...


def make_token_validator(
    keys: LocalKeyPair,
    *,
    issuer: str = DEV_ISSUER,
    audience: str = DEV_AUDIENCE,
    leeway_s: int = 0,
) -> TokenValidator:
    """A validator trusting ``keys`` (through their ``jwks.json``), as a service would."""
    return TokenValidator(
        AuthConfig(
            auth_issuer=issuer,
            auth_audience=audience,
            auth_jwks_file=keys.jwks_path,
            auth_leeway_s=leeway_s,
        )
    )


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def local_keys(tmp_path_factory: pytest.TempPathFactory) -> LocalKeyPair:
    """A key pair for this test session, in a temporary folder."""
    return ensure_local_keypair(tmp_path_factory.mktemp("lfi-keys"))


@pytest.fixture(scope="session")
def token_validator(local_keys: LocalKeyPair) -> TokenValidator:
    """A validator trusting :func:`local_keys`, for ``app.state.token_validator``."""
    return make_token_validator(local_keys)


@pytest.fixture(scope="session")
def token_factory(local_keys: LocalKeyPair) -> TokenFactory:
    """``token_factory(Role.school_staff, school_urns=["123456"])`` → a valid token."""

    def issue(
        roles: Role | str | Iterable[Role | str],
        *,
        school_urns: Iterable[str] = (),
        zones: Iterable[str] = (),
        scopes: Iterable[str] = (),
        subject: str | None = None,
        lifetime_s: int = 3600,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        role_list = [roles] if isinstance(roles, str) else list(roles)
        token: str = local_keys.issue_token(
            subject or f"test-{role_list[0] if role_list else 'nobody'}",
            role_list,
            school_urns=school_urns,
            zones=zones,
            scopes=scopes,
            issuer=DEV_ISSUER,
            audience=DEV_AUDIENCE,
            lifetime_s=lifetime_s,
            extra_claims=extra_claims,
        )
        return token

    return issue
