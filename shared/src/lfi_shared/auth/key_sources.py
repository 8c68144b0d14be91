"""Where token signing keys come from: the identity provider's JWKS URL or a JWKS file.

Both sources answer one question, "the public key with this ``kid``", and raise
:class:`UnknownKeyError` or :class:`KeysUnavailableError` so the validator can tell a forged
key id from an identity provider that cannot be reached.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet


class UnknownKeyError(LookupError):
    """No key with the requested ``kid`` is in the key set."""


class KeysUnavailableError(RuntimeError):
    """The key set cannot be read (network failure, missing or broken file)."""


class KeySource(Protocol):
    """A set of public signing keys, looked up by key id."""

    def key_for(self, kid: str) -> PyJWK:
        """The key named ``kid``.

        Raises:
            UnknownKeyError: no such key.
            KeysUnavailableError: the key set cannot be read.
        """
        ...


class JwksUrlKeys:
    """Keys from a JWKS endpoint, cached by :class:`jwt.PyJWKClient`.

    The whole set is cached for ``cache_lifespan_s``; an unknown ``kid`` forces at most one
    refresh per ``refresh_cooldown_s``, so tokens with made-up key ids cannot make the service
    hammer the identity provider. Calls block on the network: run them off the event loop.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        cache_lifespan_s: float = 300.0,
        refresh_cooldown_s: float = 30.0,
    ) -> None:
        self._client = PyJWKClient(
            url,
            cache_jwk_set=True,
            lifespan=cache_lifespan_s,
            timeout=timeout_s,
            cooldown_duration=refresh_cooldown_s,
        )

    def key_for(self, kid: str) -> PyJWK:
        """See :meth:`KeySource.key_for`."""
        # First the (cached) set as it stands: any failure here means the set is unreadable.
        try:
            key = PyJWKClient.match_kid(self._client.get_signing_keys(), kid)
        except jwt.PyJWTError as error:
            raise KeysUnavailableError("the JWKS endpoint gave no usable keys") from error
        if key is not None:
            return key
        # Then one refresh (the provider may have rotated its keys), subject to the cooldown.
        try:
            return self._client.get_signing_key(kid)
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as error:
            raise KeysUnavailableError("the JWKS endpoint cannot be reached") from error
        except jwt.PyJWKClientError as error:
            raise UnknownKeyError(kid) from error


class JwksFileKeys:
    """Keys from a JWKS file, re-read when the file changes (the local keys may be remade)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str, PyJWK] = {}

    def key_for(self, kid: str) -> PyJWK:
        """See :meth:`KeySource.key_for`."""
        keys = self._current_keys()
        try:
            return keys[kid]
        except KeyError:
            raise UnknownKeyError(kid) from None

    def _current_keys(self) -> dict[str, PyJWK]:
        try:
            stat = os.stat(self._path)
        except OSError as error:
            raise KeysUnavailableError(f"cannot read the JWKS file {self._path}") from error
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._keys = _load_jwks_file(self._path)
                self._stamp = stamp
            return self._keys


def _load_jwks_file(path: Path) -> dict[str, PyJWK]:
    try:
        key_set = PyJWKSet.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, jwt.PyJWTError) as error:  # json.JSONDecodeError is a ValueError
        raise KeysUnavailableError(f"cannot read the JWKS file {path}") from error
    # Keys without a kid are unusable: every token must name its key.
    return {key.key_id: key for key in key_set.keys if key.key_id}


__all__ = [
    "JwksFileKeys",
    "JwksUrlKeys",
    "KeySource",
    "KeysUnavailableError",
    "UnknownKeyError",
]
