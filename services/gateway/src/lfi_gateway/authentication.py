"""Bearer tokens checked at the edge, with the validator every service uses.

A ``/v1`` request without a valid token is answered here (401) and never reaches a service;
the services validate the token again, since they may be called directly. The answers mirror
:func:`lfi_shared.auth.get_principal`, so a client sees the same problem either way.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from lfi_shared.auth import (
    AuthenticationError,
    Principal,
    SigningKeysUnavailableError,
    TokenValidator,
)
from lfi_shared.http.problems import problem_response


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``None`` when there is none."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


async def authenticate(request: Request) -> Principal | Response:
    """The caller of ``request``, or the problem response refusing it.

    401 (with an RFC 6750 challenge) for a missing or invalid token; 503 when the issuer's
    signing keys cannot be fetched.

    Raises:
        RuntimeError: the app has no ``token_validator`` (fails closed).
    """
    validator = getattr(request.app.state, "token_validator", None)
    if not isinstance(validator, TokenValidator):
        raise RuntimeError("app.state.token_validator is not set: the app factory must set it")
    token = bearer_token(request)
    if token is None:
        return problem_response(401, detail="missing bearer token", instance=request.url.path,
                                headers={"WWW-Authenticate": "Bearer"})
    principal = validator.cached(token)  # verified lately: a look-up, no thread needed
    try:
        if principal is None:
            # Off the event loop: a JWKS refresh is blocking network I/O.
            principal = await run_in_threadpool(validator.validate, token)
    except SigningKeysUnavailableError:
        return problem_response(
            503, instance=request.url.path, headers={"Retry-After": "30"},
            detail="the identity provider's signing keys are unavailable; try again shortly",
        )
    except AuthenticationError as error:
        challenge = f'Bearer error="invalid_token", error_description="{error.reason}"'
        return problem_response(401, detail=error.reason, instance=request.url.path,
                                headers={"WWW-Authenticate": challenge})
    request.state.principal = principal
    return principal
