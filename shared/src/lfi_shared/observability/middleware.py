"""One ASGI middleware per service: request id, trace context, access log line, metrics."""

from __future__ import annotations

import time
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lfi_shared.observability.tracing import clean_request_id, new_trace, parse_traceparent

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_RAW = REQUEST_ID_HEADER.encode()
log = structlog.get_logger("lfi.http")


class HttpMetrics:
    """Prometheus series for HTTP traffic, in the service's own registry."""

    # Labelled series kept at hand (a route template, a method, a status: a few dozen in
    # use); past this many, the rare others are looked up each time.
    KEPT_SERIES = 512

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "lfi_http_requests_total", "HTTP requests handled.",
            ["method", "route", "status"], registry=registry,
        )
        self.latency = Histogram(
            "lfi_http_request_duration_seconds", "Time to handle an HTTP request.",
            ["method", "route"], registry=registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its time under its labels."""
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            series = (self.requests.labels(method, route, str(status)),
                      self.latency.labels(method, route))
            if len(self._series) < self.KEPT_SERIES:
                self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    """Binds request and trace ids to every log line of the request and returns them."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics,
                 quiet_paths: tuple[str, ...] = ("/health/live", "/health/ready", "/metrics")) -> None:
        self.app = app
        self.metrics = metrics
        self.quiet_paths = quiet_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given_id = given_traceparent = None
        for name, value in scope["headers"]:  # ASGI header names are lower case
            if name == _REQUEST_ID_RAW:
                given_id = value.decode("latin-1")
            elif name == b"traceparent":
                given_traceparent = value.decode("latin-1")
        request_id = clean_request_id(given_id)
        incoming = parse_traceparent(given_traceparent)
        trace = incoming.child() if incoming else new_trace()
        scope.setdefault("state", {})
        scope["state"]["request_id"] = request_id
        scope["state"]["trace"] = trace
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, trace_id=trace.trace_id)
        status = 500
        started = time.perf_counter()

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                raw: list[Any] = list(message.get("headers", []))
                raw.append((b"x-request-id", request_id.encode()))
                raw.append((b"traceparent", trace.traceparent.encode()))
                message["headers"] = raw
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "")
            self.metrics.observe(method, route, status, elapsed)
            if scope.get("path") not in self.quiet_paths:
                log.info("request", method=method, route=route, status=status,
                         duration_ms=round(elapsed * 1000, 2))
            structlog.contextvars.clear_contextvars()
