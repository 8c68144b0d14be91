"""The front door: tokens, CORS, rate limits and body limits, in front of a real upstream."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from gateway_harness import gateway_settings, running_gateway, stand_in

from lfi_shared.auth import LocalKeyPair, Role, ensure_local_keypair
from lfi_shared.settings import DEV_AUDIENCE, DEV_ISSUER
from lfi_shared.testing.auth import TokenFactory, bearer

FRONTEND = "http://localhost:5173"


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, trust_env=False, timeout=10)


@pytest.fixture
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> LocalKeyPair:
    return ensure_local_keypair(tmp_path_factory.mktemp("other-keys"))


def _bad_tokens(token_factory: TokenFactory, other_keys: LocalKeyPair) -> dict[str, str | None]:
    return {
        "missing": None,
        "garbage": "not-a-jwt",
        "wrong key": other_keys.issue_token("intruder", ["la_admin"], issuer=DEV_ISSUER,
                                            audience=DEV_AUDIENCE),
        "expired": token_factory(Role.la_admin, lifetime_s=-60),
        "other audience": token_factory(Role.la_admin, extra_claims={"aud": "api://other"}),
    }


def test_bad_tokens_are_refused_at_the_gateway_and_never_reach_a_service(
        local_keys: LocalKeyPair, token_factory: TokenFactory, other_keys: LocalKeyPair) -> None:
    with stand_in("referrals") as (referrals, referrals_url), running_gateway(
            gateway_settings(local_keys.jwks_path, referrals_url=referrals_url)) as url, \
            client(url) as http:
        for case, token in _bad_tokens(token_factory, other_keys).items():
            headers = bearer(token) if token else {}
            for method, path in (("GET", "/v1/referrals"), ("POST", "/v1/referrals"),
                                 ("GET", "/v1/nowhere")):
                response = http.request(method, path, headers=headers, json={"a": 1})
                assert response.status_code == 401, (case, method, path)
                assert response.headers["content-type"] == "application/problem+json"
                assert response.headers["www-authenticate"].startswith("Bearer")
                assert response.json()["status"] == 401
        assert referrals.proxied == []

        valid = http.get("/v1/referrals", headers=bearer(token_factory(Role.la_admin)))
        assert valid.status_code == 200
        assert len(referrals.proxied) == 1
        assert referrals.proxied[0].headers["authorization"].startswith("Bearer ")


def test_unknown_v1_path_with_a_valid_token_is_a_404_problem(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    with running_gateway(gateway_settings(local_keys.jwks_path)) as url, client(url) as http:
        response = http.get("/v1/nowhere", headers=bearer(token_factory(Role.la_admin)))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture
def gateway_with_referrals(local_keys: LocalKeyPair) -> Iterator[tuple[str, object]]:
    with stand_in("referrals") as (referrals, referrals_url), running_gateway(
            gateway_settings(local_keys.jwks_path, referrals_url=referrals_url,
                             cors_origins=[FRONTEND])) as url:
        yield url, referrals


def test_cors_preflight_from_the_frontend_origin_passes(
        gateway_with_referrals: tuple[str, object]) -> None:
    url, _ = gateway_with_referrals
    with client(url) as http:
        response = http.options("/v1/referrals", headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, if-match, "
                                              "idempotency-key",
        })
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "if-match", "idempotency-key"):
        assert header in allowed
    assert "POST" in response.headers["access-control-allow-methods"]


def test_cors_preflight_from_another_origin_is_refused(
        gateway_with_referrals: tuple[str, object]) -> None:
    url, _ = gateway_with_referrals
    with client(url) as http:
        response = http.options("/v1/referrals", headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        })
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_cors_response_exposes_the_headers_clients_need(
        gateway_with_referrals: tuple[str, object], token_factory: TokenFactory) -> None:
    url, _ = gateway_with_referrals
    with client(url) as http:
        response = http.get("/v1/referrals", headers={
            "Origin": FRONTEND, **bearer(token_factory(Role.la_admin))})
        refused = http.get("/v1/referrals", headers={"Origin": FRONTEND})
    assert response.headers["access-control-allow-origin"] == FRONTEND
    exposed = response.headers["access-control-expose-headers"].lower()
    for header in ("etag", "x-request-id", "location", "retry-after"):
        assert header in exposed
    # a browser can read the gateway's own refusals too
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == FRONTEND


def test_rate_limit_gives_429_with_retry_after_per_client(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    with stand_in("referrals") as (referrals, referrals_url), running_gateway(
            gateway_settings(local_keys.jwks_path, referrals_url=referrals_url,
                             rate_limit="3/minute")) as url, client(url) as http:
        alice = bearer(token_factory(Role.la_admin, subject="alice"))
        statuses = [http.get("/v1/referrals", headers=alice).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = http.get("/v1/referrals", headers=alice)
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert len(referrals.proxied) == 3

        bob = bearer(token_factory(Role.la_admin, subject="bob"))
        assert http.get("/v1/referrals", headers=bob).status_code == 200

        # without a valid token the client is its address, counted all the same
        anonymous = [http.get("/v1/referrals").status_code for _ in range(4)]
        assert anonymous == [401, 401, 401, 429]

        # the gateway's own endpoints are not limited (probes, docs)
        assert http.get("/health/live").status_code == 200


def test_oversized_body_gives_413_whether_declared_or_chunked(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    limit = 1024
    with stand_in("referrals") as (referrals, referrals_url), running_gateway(
            gateway_settings(local_keys.jwks_path, referrals_url=referrals_url,
                             max_body_bytes=limit)) as url, client(url) as http:
        token = bearer(token_factory(Role.la_admin))

        declared = http.post("/v1/referrals", headers=token, content=b"x" * (limit + 1))
        assert declared.status_code == 413
        assert declared.headers["content-type"] == "application/problem+json"
        assert referrals.proxied == []  # refused before anything was sent on

        def chunks(count: int, size: int = 256) -> Iterator[bytes]:
            for _ in range(count):
                time.sleep(0.01)
                yield b"y" * size

        chunked = http.post("/v1/referrals", headers=token, content=chunks(8))
        assert chunked.status_code == 413
        assert chunked.headers["content-type"] == "application/problem+json"

        within = http.post("/v1/referrals", headers=token, content=chunks(4))
        assert within.status_code == 200
        assert within.json()["body_bytes"] == 1024
        assert http.get("/v1/referrals", headers=token).status_code == 200
