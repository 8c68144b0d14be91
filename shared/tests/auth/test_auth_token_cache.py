"""A verified token is remembered until it expires (and no longer than the cache's time to live);
a token that fails is never remembered."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from jwt import PyJWK

from lfi_shared.auth import AuthConfig, AuthenticationError, LocalKeyPair, Role, TokenValidator
from lfi_shared.auth.key_sources import JwksFileKeys
from lfi_shared.settings import DEV_AUDIENCE, DEV_ISSUER


class CountedKeys:
    """The local JWKS file, counting the look-ups (each one precedes a signature check)."""

    def __init__(self, path: Path) -> None:
        self.keys = JwksFileKeys(path)
        self.lookups = 0

    def key_for(self, kid: str) -> PyJWK:
        self.lookups += 1
        return self.keys.key_for(kid)


def validator(keys: LocalKeyPair, source: CountedKeys, *, leeway_s: int = 0,
              cache_ttl_s: float = 60.0) -> TokenValidator:
    config = AuthConfig(DEV_ISSUER, DEV_AUDIENCE, auth_jwks_file=keys.jwks_path,
                        auth_leeway_s=leeway_s)
    return TokenValidator(config, key_source=source, cache_ttl_s=cache_ttl_s)


def test_a_repeated_token_is_checked_once(local_keys: LocalKeyPair) -> None:
    source = CountedKeys(local_keys.jwks_path)
    tokens = validator(local_keys, source)
    token = local_keys.issue_token("u", [Role.school_staff], school_urns=["123456"])
    assert tokens.cached(token) is None
    first = tokens.validate(token)
    assert tokens.validate(token) is first and tokens.cached(token) is first
    assert first.school_urns == {"123456"}
    assert source.lookups == 1


def test_a_remembered_token_still_expires(local_keys: LocalKeyPair) -> None:
    source = CountedKeys(local_keys.jwks_path)
    tokens = validator(local_keys, source)
    token = local_keys.issue_token("u", [Role.auditor], lifetime_s=1)
    tokens.validate(token)
    time.sleep(1.1)
    assert tokens.cached(token) is None
    with pytest.raises(AuthenticationError, match="token expired"):
        tokens.validate(token)


def test_trust_is_renewed_after_the_cache_time_to_live(local_keys: LocalKeyPair) -> None:
    source = CountedKeys(local_keys.jwks_path)
    tokens = validator(local_keys, source, cache_ttl_s=0.2)
    token = local_keys.issue_token("u", [Role.auditor])
    tokens.validate(token)
    time.sleep(0.3)
    assert tokens.cached(token) is None
    tokens.validate(token)
    assert source.lookups == 2


def test_a_refused_token_is_not_remembered(local_keys: LocalKeyPair) -> None:
    source = CountedKeys(local_keys.jwks_path)
    tokens = validator(local_keys, source)
    wrong_audience = local_keys.issue_token("u", [Role.la_admin], audience="api://other")
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="invalid audience"):
            tokens.validate(wrong_audience)
    assert tokens.cached(wrong_audience) is None
    assert source.lookups == 2


def test_a_full_cache_makes_room_and_keeps_validating(local_keys: LocalKeyPair) -> None:
    source = CountedKeys(local_keys.jwks_path)
    config = AuthConfig(DEV_ISSUER, DEV_AUDIENCE, auth_jwks_file=local_keys.jwks_path)
    tokens = TokenValidator(config, key_source=source, cache_size=2)
    issued = [local_keys.issue_token(f"u{n}", [Role.auditor]) for n in range(5)]
    for token in issued:
        assert tokens.validate(token).subject == tokens.validate(token).subject
    assert sum(tokens.cached(token) is not None for token in issued) <= 2
    assert tokens.cached(issued[-1]) is not None
