"""get_principal / require_roles on a tiny app: valid tokens pass, each forgery gets 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import Depends, FastAPI

from lfi_shared.auth import (
    AuthConfig,
    CurrentPrincipal,
    LocalKeyPair,
    Principal,
    Role,
    TokenValidator,
    ensure_local_keypair,
    require_roles,
    require_scopes,
)
from lfi_shared.settings import DEV_AUDIENCE, DEV_ISSUER
from lfi_shared.testing.auth import TokenFactory, bearer


def make_app(validator: TokenValidator | None) -> FastAPI:
    app = FastAPI()
    if validator is not None:
        app.state.token_validator = validator

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {
            "subject": principal.subject,
            "roles": sorted(principal.roles),
            "school_urns": sorted(principal.school_urns),
            "zones": sorted(principal.zones),
        }

    @app.get("/admin", dependencies=[Depends(require_roles(Role.la_admin))])
    async def admin() -> dict[str, str]:
        return {"ok": "admin"}

    @app.get("/placements")
    async def placements(
        principal: Annotated[Principal, Depends(require_roles(Role.placements_officer))],
    ) -> dict[str, str]:
        return {"subject": principal.subject}

    @app.get(
        "/integration",
        dependencies=[
            Depends(require_roles(Role.service_client)),
            Depends(require_scopes("referrals.read")),
        ],
    )
    async def integration() -> dict[str, str]:
        return {"ok": "integration"}

    return app


@pytest.fixture
async def client(token_validator: TokenValidator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(token_validator))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: dict[str, Any]) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": "attacker",
        "iat": now,
        "exp": now + 600,
        "roles": ["la_admin"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def assert_rejected(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == reason
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer error="invalid_token", error_description="{reason}"'
    )


# --- accepted ---------------------------------------------------------------------------------


async def test_valid_token_gives_principal_with_roles_urns_and_zones(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    token = token_factory(
        [Role.school_staff, Role.tas_practitioner, "SomeOtherApp.Role"],
        school_urns=["123456"],
        zones=["north", "east"],
        subject="user-42",
    )
    response = await client.get("/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "subject": "user-42",
        "roles": ["school_staff", "tas_practitioner"],
        "school_urns": ["123456"],
        "zones": ["east", "north"],
    }


async def test_role_dependency_admits_listed_role_as_route_dependency_and_parameter(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    admin = await client.get("/admin", headers=bearer(token_factory(Role.la_admin)))
    officer = token_factory(Role.placements_officer, subject="officer-1")
    placements = await client.get("/placements", headers=bearer(officer))
    assert admin.status_code == 200
    assert placements.json() == {"subject": "officer-1"}


async def test_expiry_within_leeway_is_tolerated(local_keys: LocalKeyPair) -> None:
    validator = TokenValidator(
        AuthConfig(DEV_ISSUER, DEV_AUDIENCE, auth_jwks_file=local_keys.jwks_path, auth_leeway_s=30)
    )
    token = local_keys.issue_token("u", [Role.auditor], lifetime_s=-5)
    assert validator.validate(token).roles == {Role.auditor}


# --- 403: authenticated but not allowed -------------------------------------------------------


async def test_token_without_required_role_is_forbidden(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    response = await client.get("/admin", headers=bearer(token_factory(Role.school_staff)))
    assert response.status_code == 403
    assert "la_admin" in response.json()["detail"]


async def test_la_admin_is_not_implicitly_every_role(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    response = await client.get("/placements", headers=bearer(token_factory(Role.la_admin)))
    assert response.status_code == 403


async def test_service_client_needs_its_scope(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    without = token_factory(Role.service_client, scopes=["events.read"])
    with_scope = token_factory(Role.service_client, scopes=["referrals.read"])
    refused = await client.get("/integration", headers=bearer(without))
    allowed = await client.get("/integration", headers=bearer(with_scope))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert allowed.status_code == 200


# --- 401: each attack -------------------------------------------------------------------------


async def test_missing_bearer_is_challenged(client: httpx.AsyncClient) -> None:
    response = await client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"] == "missing bearer token"


async def test_other_authorization_scheme_is_challenged(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_garbage_token_is_malformed(client: httpx.AsyncClient) -> None:
    assert_rejected(await client.get("/me", headers=bearer("not.a-jwt")), "malformed token")


async def test_expired_token_is_rejected(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    token = token_factory(Role.la_admin, lifetime_s=-60)
    assert_rejected(await client.get("/me", headers=bearer(token)), "token expired")


async def test_token_from_another_issuer_is_rejected(
    client: httpx.AsyncClient, local_keys: LocalKeyPair
) -> None:
    token = local_keys.issue_token("u", [Role.la_admin], issuer="https://evil.example/")
    assert_rejected(await client.get("/me", headers=bearer(token)), "invalid issuer")


async def test_token_for_another_audience_is_rejected(
    client: httpx.AsyncClient, local_keys: LocalKeyPair
) -> None:
    token = local_keys.issue_token("u", [Role.la_admin], audience="api://other-service")
    assert_rejected(await client.get("/me", headers=bearer(token)), "invalid audience")


async def test_unsigned_alg_none_token_is_rejected(
    client: httpx.AsyncClient, local_keys: LocalKeyPair
) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": local_keys.kid}
    token = f"{segment(header)}.{segment(claims())}."
    assert_rejected(await client.get("/me", headers=bearer(token)), "unsupported algorithm")


async def test_hs256_signed_with_the_public_key_is_rejected(
    client: httpx.AsyncClient, local_keys: LocalKeyPair
) -> None:
    # The classic key-confusion attack: HMAC "signed" with the (public) verification key.
    public_pem = local_keys.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_jwks = local_keys.jwks_path.read_bytes()
    for secret in (public_pem, public_jwks):
        signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': local_keys.kid})}." + (
            segment(claims())
        )
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(signature)}"
        assert_rejected(await client.get("/me", headers=bearer(token)), "unsupported algorithm")


async def test_token_signed_by_another_key_with_our_kid_is_rejected(
    client: httpx.AsyncClient, local_keys: LocalKeyPair, tmp_path: Path
) -> None:
    impostor = ensure_local_keypair(tmp_path / "impostor")
    token = impostor.sign(claims(), headers={"kid": local_keys.kid})
    assert_rejected(await client.get("/me", headers=bearer(token)), "invalid signature")


async def test_tampered_payload_is_rejected(
    client: httpx.AsyncClient, token_factory: TokenFactory
) -> None:
    header, _, signature = token_factory(Role.school_staff, school_urns=["123456"]).split(".")
    forged = f"{header}.{segment(claims(roles=['la_admin']))}.{signature}"
    assert_rejected(await client.get("/admin", headers=bearer(forged)), "invalid signature")


async def test_token_without_kid_is_rejected(
    client: httpx.AsyncClient, local_keys: LocalKeyPair
) -> None:
    token = jwt.encode(claims(), local_keys.private_key, algorithm="RS256")
    assert_rejected(await client.get("/me", headers=bearer(token)), "missing key id")


async def test_token_with_unknown_kid_is_rejected(
    client: httpx.AsyncClient, local_keys: LocalKeyPair
) -> None:
    token = local_keys.sign(claims(), headers={"kid": "not-a-known-key"})
    assert_rejected(await client.get("/me", headers=bearer(token)), "unknown key id")


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub"])
async def test_token_missing_a_required_claim_is_rejected(
    client: httpx.AsyncClient, local_keys: LocalKeyPair, claim: str
) -> None:
    token = local_keys.sign(claims(**{claim: None}))
    assert_rejected(await client.get("/me", headers=bearer(token)), f"missing claim {claim}")


async def test_token_not_yet_valid_is_rejected(
    client: httpx.AsyncClient, local_keys: LocalKeyPair
) -> None:
    token = local_keys.sign(claims(nbf=int(time.time()) + 600))
    assert_rejected(await client.get("/me", headers=bearer(token)), "token not yet valid")


# --- failing closed ---------------------------------------------------------------------------


async def test_unreadable_key_set_is_503_not_401(
    local_keys: LocalKeyPair, token_factory: TokenFactory, tmp_path: Path
) -> None:
    validator = TokenValidator(
        AuthConfig(DEV_ISSUER, DEV_AUDIENCE, auth_jwks_file=tmp_path / "absent.json")
    )
    transport = httpx.ASGITransport(app=make_app(validator))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        response = await c.get("/me", headers=bearer(token_factory(Role.la_admin)))
    assert response.status_code == 503


async def test_app_without_validator_fails_closed(token_factory: TokenFactory) -> None:
    transport = httpx.ASGITransport(app=make_app(None))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        with pytest.raises(RuntimeError, match="token_validator"):
            await c.get("/me", headers=bearer(token_factory(Role.la_admin)))
