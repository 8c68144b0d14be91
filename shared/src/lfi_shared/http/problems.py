"""RFC 9457 problem details for every error a service returns.

Domain code raises :class:`DomainError` subclasses; each service lists them (or relies on their
class attributes) and they become ``application/problem+json`` responses. Validation errors
name every field at fault; unhandled errors say nothing of the internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://lfi.norfolk.gov.uk/problems/"

log = structlog.get_logger("lfi.problems")


class FieldError(BaseModel):
    """One field at fault in a request."""

    field: str = Field(description="Where the fault is: 'body.child.upn', 'query.limit', ...")
    message: str
    code: str = Field(description="A stable machine-readable reason, e.g. 'missing'.")


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class DomainError(Exception):
    """A rule of the domain refused the request. Subclasses set the class attributes."""

    status: int = 409
    problem_type: str = "conflict"
    title: str = "The request conflicts with the current state"

    def __init__(self, detail: str, *, errors: Sequence[FieldError] | None = None,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.extra = dict(extra or {})


class NotFound(DomainError):
    status = 404
    problem_type = "not-found"
    title = "Not found"


class InvalidRequest(DomainError):
    status = 422
    problem_type = "validation-error"
    title = "The request is not valid"


class Conflict(DomainError):
    status = 409
    problem_type = "conflict"
    title = "The request conflicts with the current state"


class Forbidden(DomainError):
    status = 403
    problem_type = "forbidden"
    title = "Not allowed"


class PreconditionFailed(DomainError):
    status = 412
    problem_type = "precondition-failed"
    title = "The resource has changed"


class PreconditionRequired(DomainError):
    status = 428
    problem_type = "precondition-required"
    title = "If-Match is required"


_STATUS_TITLES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "The resource has changed"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "The request is not valid"),
    428: ("precondition-required", "If-Match is required"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal error"),
    502: ("bad-gateway", "Bad gateway"),
    503: ("service-unavailable", "Service unavailable"),
    504: ("gateway-timeout", "Gateway timeout"),
}


def problem_type_uri(slug: str) -> str:
    return PROBLEM_BASE + slug


def problem_response(status: int, *, detail: str | None = None, slug: str | None = None,
                     title: str | None = None, errors: Sequence[FieldError] | None = None,
                     instance: str | None = None, headers: Mapping[str, str] | None = None,
                     extra: Mapping[str, Any] | None = None) -> JSONResponse:
    """Build a problem+json response; ``slug`` and ``title`` default from the status."""
    default_slug, default_title = _STATUS_TITLES.get(status, ("error", "Error"))
    # Extension members never overwrite the standard ones (a domain error's own "status").
    members = {k: v for k, v in (extra or {}).items() if k not in Problem.model_fields}
    body = Problem(
        type=problem_type_uri(slug or default_slug),
        title=title or default_title,
        status=status,
        detail=detail,
        instance=instance,
        errors=list(errors) if errors else None,
        **members,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


def field_errors_from_validation(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic/FastAPI validation errors as field errors; the submitted values are never echoed
    (they may hold a child's personal data)."""
    out: list[FieldError] = []
    for err in errors:
        out.append(FieldError(
            field=_location(err.get("loc", ())),
            message=str(err.get("msg", "invalid")),
            code=str(err.get("type", "invalid")),
        ))
    return out


async def _domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(exc.status, detail=exc.detail, slug=exc.problem_type, title=exc.title,
                            errors=exc.errors, instance=request.url.path, extra=exc.extra)


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors_from_validation(exc.errors())
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return problem_response(422, detail=detail, errors=errors, instance=request.url.path)


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, detail=detail, instance=request.url.path,
                            headers=exc.headers)


async def _unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", error_type=type(exc).__name__, path=request.url.path,
              exc_info=exc)
    return problem_response(500, detail="An unexpected error occurred. It has been logged.",
                            instance=request.url.path)


def _database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` is the database connection being lost (not a bad statement)."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError,
                             ConnectionError, OSError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    if _database_unreachable(exc):
        log.warning("database_unreachable", error_type=type(exc).__name__, path=request.url.path)
        return problem_response(503, detail="The database is briefly unavailable; retry shortly.",
                                instance=request.url.path, headers={"Retry-After": "1"})
    return await _unhandled_handler(request, exc)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error the app returns an RFC 9457 problem."""
    from sqlalchemy.exc import DBAPIError

    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(DBAPIError, _database_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unhandled_handler)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": _STATUS_TITLES[status][1],
             "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status in (401, 403, 422, 500)
}
"""Responses every operation may give; pass as ``responses=`` to routers for the OpenAPI."""
