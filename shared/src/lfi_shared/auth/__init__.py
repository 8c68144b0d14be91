"""Bearer token authentication (OIDC, JWKS) and role-based authorization.

* :class:`TokenValidator` checks a token against the issuer's keys → :class:`Principal`;
* :func:`get_principal`, :data:`CurrentPrincipal`, :func:`require_roles`,
  :func:`require_scopes` are the FastAPI dependencies (the app factory sets
  ``app.state.token_validator``);
* :func:`ensure_local_keypair` and ``python -m lfi_shared.auth.devtoken`` sign local tokens
  for development and tests.
"""

from lfi_shared.auth.dependencies import (
    CurrentPrincipal,
    get_principal,
    require_roles,
    require_scopes,
    token_validator,
)
from lfi_shared.auth.local_keys import LocalKeyPair, ensure_local_keypair
from lfi_shared.auth.principal import Principal, Role
from lfi_shared.auth.tokens import (
    AuthConfig,
    AuthenticationError,
    AuthSettings,
    SigningKeysUnavailableError,
    TokenValidator,
)

__all__ = [
    "AuthConfig",
    "AuthSettings",
    "AuthenticationError",
    "CurrentPrincipal",
    "LocalKeyPair",
    "Principal",
    "Role",
    "SigningKeysUnavailableError",
    "TokenValidator",
    "ensure_local_keypair",
    "get_principal",
    "require_roles",
    "require_scopes",
    "token_validator",
]
