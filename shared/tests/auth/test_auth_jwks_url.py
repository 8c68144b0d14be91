"""Keys fetched from a JWKS URL over real HTTP: cached, refreshed on rotation, fail closed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from lfi_shared.auth import (
    AuthConfig,
    AuthenticationError,
    CurrentPrincipal,
    LocalKeyPair,
    Role,
    SigningKeysUnavailableError,
    TokenValidator,
    ensure_local_keypair,
)
from lfi_shared.auth.key_sources import JwksUrlKeys
from lfi_shared.settings import DEV_AUDIENCE, DEV_ISSUER
from lfi_shared.testing.auth import bearer


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 counting its fetches; its key set can be swapped."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/discovery/keys"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def jwks_server(local_keys: LocalKeyPair) -> Iterator[JwksServer]:
    with JwksServer(local_keys.jwks()) as server:
        yield server


def url_config(url: str) -> AuthConfig:
    return AuthConfig(DEV_ISSUER, DEV_AUDIENCE, auth_jwks_url=url)


def test_token_validates_against_keys_fetched_over_http_once(
    jwks_server: JwksServer, local_keys: LocalKeyPair
) -> None:
    validator = TokenValidator(url_config(jwks_server.url))
    for _ in range(3):
        token = local_keys.issue_token("u", [Role.funding_officer], school_urns=["123456"])
        principal = validator.validate(token)
        assert principal.roles == {Role.funding_officer}
    assert jwks_server.fetches == 1  # the key set is cached


def test_forged_kid_does_not_refetch_within_cooldown(
    jwks_server: JwksServer, local_keys: LocalKeyPair
) -> None:
    validator = TokenValidator(url_config(jwks_server.url))
    validator.validate(local_keys.issue_token("u", [Role.auditor]))
    for n in range(5):
        forged = local_keys.sign(
            {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": "x", "exp": 2**31},
            headers={"kid": f"made-up-{n}"},
        )
        with pytest.raises(AuthenticationError, match="unknown key id"):
            validator.validate(forged)
    assert jwks_server.fetches == 1


def test_rotated_key_is_picked_up_by_a_refresh(
    jwks_server: JwksServer, local_keys: LocalKeyPair, tmp_path: Path
) -> None:
    validator = TokenValidator(
        url_config(jwks_server.url),
        key_source=JwksUrlKeys(jwks_server.url, refresh_cooldown_s=0),
    )
    validator.validate(local_keys.issue_token("u", [Role.auditor]))
    rotated = ensure_local_keypair(tmp_path / "rotated")
    jwks_server.jwks = {"keys": [local_keys.public_jwk(), rotated.public_jwk()]}
    assert validator.validate(rotated.issue_token("u2", [Role.auditor])).subject == "u2"
    assert jwks_server.fetches == 2


async def test_app_validates_through_the_jwks_url(
    jwks_server: JwksServer, local_keys: LocalKeyPair
) -> None:
    app = FastAPI()
    app.state.token_validator = TokenValidator(url_config(jwks_server.url))

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"subject": principal.subject}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        ok = await client.get("/me", headers=bearer(local_keys.issue_token("s1", [Role.auditor])))
        other = ensure_local_keypair(local_keys.directory.parent / "not-published")
        bad = await client.get("/me", headers=bearer(other.issue_token("s2", [Role.la_admin])))
    assert ok.json() == {"subject": "s1"}
    assert bad.status_code == 401
    assert bad.json()["detail"] == "unknown key id"


def test_unreachable_jwks_url_means_keys_unavailable(local_keys: LocalKeyPair) -> None:
    with JwksServer(local_keys.jwks()) as server:
        url = server.url
    validator = TokenValidator(url_config(url), jwks_timeout_s=1)
    with pytest.raises(SigningKeysUnavailableError):
        validator.validate(local_keys.issue_token("u", [Role.auditor]))
