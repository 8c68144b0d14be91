"""Bearer token validation against the issuer's signing keys.

The accepted algorithms are fixed by configuration, never taken from the token: ``none`` and
the symmetric ``HS*`` family are refused outright, so a token "signed" with the public key as
an HMAC secret cannot pass. Every token must carry ``exp``, ``iss``, ``aud`` and ``sub`` and
name its key (``kid``) in the header.

A verified token's principal is remembered, by the token's exact text, until the token expires
(and for at most ``cache_ttl_s``), so a client repeating its token costs one dictionary
look-up instead of a signature check; :meth:`TokenValidator.cached` answers from memory only
and never blocks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import jwt

from lfi_shared.auth.key_sources import (
    JwksFileKeys,
    JwksUrlKeys,
    KeySource,
    KeysUnavailableError,
    UnknownKeyError,
)
from lfi_shared.auth.principal import Principal
from lfi_shared.settings import DEFAULT_DEV_KEY_DIR

REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")


class AuthenticationError(Exception):
    """The request is not authenticated; ``reason`` is short and safe to show the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SigningKeysUnavailableError(AuthenticationError):
    """The issuer's keys cannot be fetched: the token may be fine, the service cannot tell."""

    def __init__(self) -> None:
        super().__init__("signing keys unavailable")


class AuthSettings(Protocol):
    """The settings a :class:`TokenValidator` reads (``ServiceSettings`` satisfies it)."""

    @property
    def auth_issuer(self) -> str: ...
    @property
    def auth_audience(self) -> str: ...
    @property
    def auth_algorithms(self) -> tuple[str, ...]: ...
    @property
    def auth_jwks_url(self) -> str | None: ...
    @property
    def auth_jwks_file(self) -> Path | None: ...
    @property
    def auth_leeway_s(self) -> int: ...


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """A plain :class:`AuthSettings`, for callers without a ``ServiceSettings`` (tests, tools)."""

    auth_issuer: str
    auth_audience: str
    auth_algorithms: tuple[str, ...] = ("RS256",)
    auth_jwks_url: str | None = None
    auth_jwks_file: Path | None = None
    auth_leeway_s: int = 30
    environment: str = "test"


def is_forbidden_algorithm(name: str) -> bool:
    """Whether ``name`` is never acceptable here: ``none`` or a shared-secret (``HS*``) one."""
    return name.lower() == "none" or name.upper().startswith("HS")


class TokenValidator:
    """Validates bearer tokens and turns them into :class:`Principal` objects.

    Keys come from ``auth_jwks_url`` (fetched with a timeout, cached) or ``auth_jwks_file``.
    In ``development``/``test`` with neither set, the local key pair's ``jwks.json`` under
    :data:`~lfi_shared.settings.DEFAULT_DEV_KEY_DIR` is used. :meth:`validate` may block on
    the network (JWKS URL): call it off the event loop.
    """

    def __init__(
        self,
        settings: AuthSettings,
        *,
        jwks_timeout_s: float = 5.0,
        jwks_cache_lifespan_s: float = 300.0,
        key_source: KeySource | None = None,
        cache_size: int = 4096,
        cache_ttl_s: float = 60.0,
    ) -> None:
        """Read the configuration; fetches nothing yet.

        ``cache_size`` verified tokens are remembered, each for at most ``cache_ttl_s`` (a key
        removed from the key set stops being honoured within that time); ``cache_size=0``
        remembers none.

        Raises:
            ValueError: no accepted algorithm, a forbidden one (``none``, ``HS*``), both or
                neither key location, or a plain-http JWKS URL in production.
        """
        algorithms = tuple(settings.auth_algorithms)
        if not algorithms:
            raise ValueError("auth_algorithms must name at least one algorithm")
        if any(is_forbidden_algorithm(name) for name in algorithms):
            raise ValueError("auth_algorithms must be asymmetric (RS256, ES256, ...)")
        self.issuer = settings.auth_issuer
        self.audience = settings.auth_audience
        self.algorithms = algorithms
        self.leeway_s = settings.auth_leeway_s
        self._keys = key_source or _key_source(
            settings, timeout_s=jwks_timeout_s, cache_lifespan_s=jwks_cache_lifespan_s
        )
        self._cache_size = cache_size
        self._cache_ttl_s = cache_ttl_s
        # token -> (wall-clock time it stops being trusted, principal)
        self._verified: dict[str, tuple[float, Principal]] = {}
        self._cache_lock = threading.Lock()

    def validate(self, token: str) -> Principal:
        """The principal of a valid ``token``.

        Raises:
            SigningKeysUnavailableError: the issuer's keys cannot be read.
            AuthenticationError: the token is missing, malformed, unsigned or signed with a
                refused algorithm, signed by an unknown key, badly signed, expired, or for
                another issuer or audience.
        """
        principal = self.cached(token)
        if principal is not None:
            return principal
        claims = self.decode(token)
        principal = Principal.from_claims(claims)
        self._remember(token, claims, principal)
        return principal

    def cached(self, token: str) -> Principal | None:
        """The principal of ``token`` if it was verified lately and has not expired since;
        ``None`` otherwise (then call :meth:`validate`). Never blocks."""
        entry = self._verified.get(token)
        if entry is None:
            return None
        until, principal = entry
        if time.time() >= until:
            self._verified.pop(token, None)
            return None
        return principal

    def _remember(self, token: str, claims: Mapping[str, Any], principal: Principal) -> None:
        if self._cache_size <= 0:
            return
        exp = claims["exp"]  # required, and a number: PyJWT has checked both
        now = time.time()
        # Trusted as long as decode() would accept it: until exp plus the leeway.
        until = min(float(exp) + self.leeway_s, now + self._cache_ttl_s)
        if until <= now:
            return
        with self._cache_lock:
            if len(self._verified) >= self._cache_size:
                self._evict(now)
            self._verified[token] = (until, principal)

    def _evict(self, now: float) -> None:
        """Drop expired entries, then (if still full) the older half."""
        entries = list(self._verified.items())
        kept = [(token, entry) for token, entry in entries if entry[0] > now]
        if len(kept) >= self._cache_size:
            kept = kept[len(kept) // 2:]
        self._verified = dict(kept)

    def decode(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; raises as :meth:`validate` does."""
        if not token:
            raise AuthenticationError("missing bearer token")
        header = _unverified_header(token)
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise AuthenticationError("unsupported algorithm")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("missing key id")
        try:
            key = self._keys.key_for(kid)
        except UnknownKeyError:
            raise AuthenticationError("unknown key id") from None
        except KeysUnavailableError as error:
            raise SigningKeysUnavailableError() from error
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWTError as error:
            raise AuthenticationError(_reason(error)) from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise AuthenticationError("invalid subject")
        return claims


def _unverified_header(token: str) -> Mapping[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthenticationError("malformed token") from None


def _reason(error: jwt.PyJWTError) -> str:
    """A short, safe description of a PyJWT failure (no token content echoed back)."""
    if isinstance(error, jwt.ExpiredSignatureError):
        return "token expired"
    if isinstance(error, jwt.ImmatureSignatureError):
        return "token not yet valid"
    if isinstance(error, jwt.InvalidIssuerError):
        return "invalid issuer"
    if isinstance(error, jwt.InvalidAudienceError):
        return "invalid audience"
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"missing claim {error.claim}" if error.claim in REQUIRED_CLAIMS else "invalid token"
    if isinstance(error, jwt.InvalidSignatureError):
        return "invalid signature"
    if isinstance(error, jwt.InvalidAlgorithmError):
        return "unsupported algorithm"
    if isinstance(error, jwt.exceptions.InvalidSubjectError):
        return "invalid subject"
    if isinstance(error, jwt.DecodeError):
        return "malformed token"
    return "invalid token"


def _key_source(settings: AuthSettings, *, timeout_s: float, cache_lifespan_s: float) -> KeySource:
    url, path = settings.auth_jwks_url, settings.auth_jwks_file
    environment = getattr(settings, "environment", "production")
    if url and path:
        raise ValueError("set only one of auth_jwks_url and auth_jwks_file")
    if url:
        if environment == "production" and urlparse(url).scheme != "https":
            raise ValueError("auth_jwks_url must use https in production")
        return JwksUrlKeys(url, timeout_s=timeout_s, cache_lifespan_s=cache_lifespan_s)
    if path is None and environment in ("development", "test"):
        path = DEFAULT_DEV_KEY_DIR / "jwks.json"
    if path is None:
        raise ValueError("auth_jwks_url (or, outside production, auth_jwks_file) must be set")
    return JwksFileKeys(Path(path))
