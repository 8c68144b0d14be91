"""FastAPI dependencies: who is calling (401) and whether they may (403).

The validator is the application's own: the app factory sets
``app.state.token_validator = TokenValidator(settings)`` before serving, so each service and
each test configures its issuer, audience and keys. A request reaching an app without one
fails closed (500), never open.

Usage::

    @router.get("/v1/funding/budgets", dependencies=[Depends(require_roles(Role.funding_officer))])
    async def list_budgets(principal: CurrentPrincipal) -> BudgetPage: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from lfi_shared.auth.principal import Principal, Role
from lfi_shared.auth.tokens import (
    AuthenticationError,
    SigningKeysUnavailableError,
    TokenValidator,
)

# Declares the bearer scheme in OpenAPI; errors are raised below, in this module's words.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="An OAuth 2.0 access token from the council's identity provider.",
)


def token_validator(request: Request) -> TokenValidator:
    """The application's validator (``app.state.token_validator``).

    Raises:
        RuntimeError: the app factory did not set one.
    """
    validator = getattr(request.app.state, "token_validator", None)
    if not isinstance(validator, TokenValidator):
        raise RuntimeError("app.state.token_validator is not set: the app factory must set it")
    return validator


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from a valid ``Authorization: Bearer`` token.

    The principal is also left on ``request.state.principal`` for logging and metrics.

    Raises:
        HTTPException: 401 with ``WWW-Authenticate`` (RFC 6750) when the token is missing or
            invalid; 503 when the issuer's signing keys cannot be fetched.
    """
    validator = token_validator(request)
    if credentials is None:
        # RFC 6750 §3.1: a request without credentials gets the challenge, no error code.
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    principal = validator.cached(credentials.credentials)
    if principal is not None:
        request.state.principal = principal
        return principal
    try:
        # Off the event loop: a JWKS refresh is blocking network I/O.
        principal = await run_in_threadpool(validator.validate, credentials.credentials)
    except SigningKeysUnavailableError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the identity provider's signing keys are unavailable; try again shortly",
            headers={"Retry-After": "30"},
        ) from error
    except AuthenticationError as error:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=error.reason,
            headers={
                "WWW-Authenticate": (
                    f'Bearer error="invalid_token", error_description="{error.reason}"'
                )
            },
        ) from None
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
"""The authenticated caller, as an endpoint parameter type."""


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting principals holding at least one of ``roles``.

    No role implies another: ``la_admin`` passes only where it is listed. Use it in
    ``dependencies=[Depends(require_roles(...))]`` or as a parameter
    ``Annotated[Principal, Depends(require_roles(...))]``.

    Raises:
        ValueError: no roles given (at declaration time).
        HTTPException: 401 as :func:`get_principal`; 403 without any of ``roles``.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")
    wanted = ", ".join(role.value for role in roles)

    async def principal_with_role(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any_role(*roles):
            raise _forbidden(f"this needs one of the roles: {wanted}")
        return principal

    return principal_with_role


def require_scopes(*scopes: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting principals holding every one of ``scopes``.

    Meant to narrow ``service_client`` callers; pair it with
    ``require_roles(Role.service_client)`` where only other council systems may call.

    Raises:
        ValueError: no scopes given (at declaration time).
        HTTPException: 401 as :func:`get_principal`; 403 when a scope is missing.
    """
    if not scopes:
        raise ValueError("require_scopes needs at least one scope")
    wanted = " ".join(scopes)

    async def principal_with_scopes(principal: CurrentPrincipal) -> Principal:
        if not principal.has_scopes(*scopes):
            raise _forbidden(f"this needs the scopes: {wanted}", scope=wanted)
        return principal

    return principal_with_scopes


def _forbidden(detail: str, *, scope: str | None = None) -> HTTPException:
    challenge = 'Bearer error="insufficient_scope"'
    if scope is not None:
        challenge += f', scope="{scope}"'
    return HTTPException(
        status.HTTP_403_FORBIDDEN, detail=detail, headers={"WWW-Authenticate": challenge}
    )
