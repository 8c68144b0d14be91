"""The local key pair: made once, private key private, safe to create concurrently."""

from __future__ import annotations

import json
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lfi_shared.auth import Role, ensure_local_keypair
from lfi_shared.testing.auth import make_token_validator


def test_key_pair_is_made_once_and_reused(tmp_path: Path) -> None:
    first = ensure_local_keypair(tmp_path / "keys")
    pem = first.private_key_path.read_bytes()
    second = ensure_local_keypair(tmp_path / "keys")
    assert second.kid == first.kid
    assert second.private_key_path.read_bytes() == pem


def test_private_key_is_owner_only_and_jwks_holds_only_the_public_key(tmp_path: Path) -> None:
    keys = ensure_local_keypair(tmp_path / "keys")
    assert stat.S_IMODE(keys.private_key_path.stat().st_mode) == 0o600
    [jwk] = json.loads(keys.jwks_path.read_text())["keys"]
    assert jwk["kid"] == keys.kid
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & jwk.keys()


def test_deleted_jwks_is_rewritten_from_the_private_key(tmp_path: Path) -> None:
    keys = ensure_local_keypair(tmp_path / "keys")
    keys.jwks_path.unlink()
    again = ensure_local_keypair(tmp_path / "keys")
    token = again.issue_token("u", [Role.auditor])
    assert make_token_validator(keys).validate(token).subject == "u"


def test_concurrent_callers_all_get_the_same_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        pairs = list(pool.map(lambda _: ensure_local_keypair(tmp_path / "k"), range(8)))
    assert len({pair.kid for pair in pairs}) == 1
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["jwks.json", "private.pem"]


def test_issued_token_carries_the_claims_a_service_reads(tmp_path: Path) -> None:
    keys = ensure_local_keypair(tmp_path / "keys")
    token = keys.issue_token(
        "svc",
        [Role.service_client],
        scopes=["referrals.read", "events.read"],
        extra_claims={"azp": "ehcp-system"},
    )
    principal = make_token_validator(keys).validate(token)
    assert principal.scopes == {"referrals.read", "events.read"}
    assert principal.client_id == "ehcp-system"
