"""A local signing key for development and tests, standing in for the identity provider.

:func:`ensure_local_keypair` makes an RSA key pair in a folder once (``private.pem``, readable
by its owner only, and the public ``jwks.json`` the services validate against) and reuses it
afterwards. Several processes may call it at once: exactly one key wins.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from lfi_shared.auth.principal import Role
from lfi_shared.settings import DEV_AUDIENCE, DEV_ISSUER

PRIVATE_KEY_FILE = "private.pem"
JWKS_FILE = "jwks.json"
ALGORITHM = "RS256"


@dataclass(frozen=True)
class LocalKeyPair:
    """A local RSA key pair and the tokens it signs."""

    directory: Path
    private_key: rsa.RSAPrivateKey
    kid: str

    @property
    def private_key_path(self) -> Path:
        return self.directory / PRIVATE_KEY_FILE

    @property
    def jwks_path(self) -> Path:
        """The public key set to point ``auth_jwks_file`` at."""
        return self.directory / JWKS_FILE

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK, with its ``kid``, ``alg`` and ``use``."""
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        """The public key set (``{"keys": [...]}``)."""
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None) -> str:
        """Sign ``claims`` as they are (RS256, this key's ``kid``); tests use it for odd tokens."""
        return jwt.encode(
            dict(claims),
            self.private_key,
            algorithm=ALGORITHM,
            headers={"kid": self.kid, **(headers or {})},
        )

    def issue_token(
        self,
        subject: str,
        roles: Iterable[Role | str],
        *,
        school_urns: Iterable[str] = (),
        zones: Iterable[str] = (),
        scopes: Iterable[str] = (),
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
        lifetime_s: int = 3600,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """An access token shaped like the identity provider's, signed with this key.

        ``extra_claims`` are applied last and may replace any standard claim.
        """
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "jti": str(uuid.uuid4()),
            "roles": [str(role) for role in roles],
        }
        if urns := list(school_urns):
            claims["school_urns"] = urns
        if zone_list := list(zones):
            claims["zones"] = zone_list
        if scope_list := list(scopes):
            claims["scp"] = " ".join(scope_list)
        claims.update(extra_claims or {})
        return self.sign(claims)


def ensure_local_keypair(directory: Path | str) -> LocalKeyPair:
    """The key pair in ``directory``, made there first if it has none.

    The folder is created (mode 0700) if needed; ``private.pem`` is written with mode 0600;
    ``jwks.json`` is (re)written from the private key whenever it is missing or stale.

    Raises:
        OSError: the folder or files cannot be written or read.
        ValueError: ``private.pem`` exists but is not an unencrypted RSA private key.
    """
    folder = Path(directory)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path = folder / PRIVATE_KEY_FILE
    if not private_path.exists():
        _create_private_key(private_path)
    key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{private_path} is not an RSA private key")
    pair = LocalKeyPair(directory=folder, private_key=key, kid=_thumbprint(key.public_key()))
    _write_jwks(pair)
    return pair


def _create_private_key(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written aside, then hard-linked into place: the link fails if another process got there
    # first, and nobody ever reads a half-written key.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".private-", suffix=".pem")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def _write_jwks(pair: LocalKeyPair) -> None:
    content = json.dumps(pair.jwks(), indent=2, sort_keys=True) + "\n"
    try:
        if pair.jwks_path.read_text(encoding="utf-8") == content:
            return
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(dir=pair.directory, prefix=".jwks-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(content)
    os.chmod(tmp, 0o644)  # public by nature; services may run as other users
    os.replace(tmp, pair.jwks_path)


def _thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """The RFC 7638 JWK thumbprint: a stable ``kid`` derived from the key itself."""
    numbers = public_key.public_numbers()
    members = {"e": _b64_uint(numbers.e), "kty": "RSA", "n": _b64_uint(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def _b64_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
