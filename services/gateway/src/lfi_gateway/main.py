"""The gateway's app factory (``uvicorn --factory lfi_gateway.main:create_app``).

What a request meets, outermost first: the shared request-context middleware (request id,
trace context, the access log line, metrics), CORS (answers browsers' preflights), then the
routes: the gateway's own (``/health``, ``/health/ready``, ``/health/live``, ``/metrics``,
``/openapi.json``, ``/docs``, all public) and the ``/v1`` front door (token, rate limit, body
limit, reverse proxy: :mod:`lfi_gateway.edge`).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from lfi_gateway.edge import PROXIED_METHODS, edge_router
from lfi_gateway.health import health_router
from lfi_gateway.openapi.live import OpenApiAggregator, openapi_router
from lfi_gateway.proxy import ReverseProxy, UpstreamMetrics
from lfi_gateway.rate_limit import ClientRateLimiter
from lfi_gateway.settings import Settings, get_settings
from lfi_gateway.upstreams import UpstreamPool
from lfi_shared.app import ServiceRuntime, Worker, create_service_app

DESCRIPTION = "The front door of the Local First Inclusion platform: one URL and one contract."

CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type", "If-Match", "If-None-Match",
                        "Idempotency-Key", "X-Request-ID", "traceparent"]
CORS_EXPOSED_HEADERS = ["ETag", "Location", "Retry-After", "X-Request-ID", "traceparent"]

# Routes the shared app factory adds that the gateway answers differently.
_REPLACED_PATHS = ("/health/ready", "/openapi.json")


def _drop_routes(routes: list[BaseRoute], paths: Sequence[str]) -> None:
    """Remove the routes of ``paths``, also from included routers (which FastAPI may keep
    whole, as ``original_router``, rather than copy route by route). Done before the app
    serves or describes anything, so no cached route table or document holds them."""
    routes[:] = [route for route in routes if getattr(route, "path", None) not in paths]
    for route in routes:
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            _drop_routes(included.routes, paths)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    upstreams = UpstreamPool(settings)
    limiter = ClientRateLimiter(settings.rate_limit, settings.rate_limit_storage_uri)
    aggregator = OpenApiAggregator(upstreams, settings)

    async def workers(_: ServiceRuntime) -> Sequence[Worker]:
        return [upstreams]

    def configure(app: FastAPI, runtime: ServiceRuntime) -> None:
        proxy = ReverseProxy(upstreams, default_read_timeout_s=settings.upstream_timeout_s,
                             max_body_bytes=settings.max_body_bytes,
                             metrics=UpstreamMetrics(runtime.registry))
        _drop_routes(app.router.routes, _REPLACED_PATHS)
        app.include_router(health_router(upstreams, settings.health_timeout_s))
        app.include_router(openapi_router(aggregator))
        app.include_router(edge_router(proxy, limiter))
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=PROXIED_METHODS,
            allow_headers=CORS_ALLOWED_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            allow_credentials=False,  # bearer tokens, no cookies
            max_age=settings.cors_max_age_s,
        )
        app.state.upstreams = upstreams
        app.state.openapi_aggregator = aggregator

    return create_service_app(
        settings,
        title="Local First Inclusion — Gateway",
        description=DESCRIPTION,
        uses_database=False,
        uses_nats=False,
        workers=workers,
        configure=configure,
    )
