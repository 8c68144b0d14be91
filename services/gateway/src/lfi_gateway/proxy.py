"""The reverse proxy: a request passed on to its service, the answer passed back.

The request body is read first, counted against the body limit (a body over it is refused
with a 413 before anything is sent on), and goes upstream whole. The answer comes back whole
when the upstream gives its length and that is at most :data:`BUFFERED_RESPONSE_MAX_BYTES`;
otherwise (and always on a streaming route) it is streamed chunk by chunk, so server-sent
events flow as they are sent. Hop-by-hop headers are dropped; ``X-Request-ID`` and the next
hop's ``traceparent`` (same trace id, a new parent span) are passed on, with
``X-Forwarded-For/Proto/Host``.

An upstream that refuses connections gives a 503 problem at once; one that does not answer
within its route's read timeout gives a 504 problem; a broken answer, a 502 problem (or, once
a streamed answer's headers are gone, a broken client connection).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable

import aiohttp
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from yarl import URL

from lfi_gateway.routing import Route
from lfi_gateway.upstreams import UpstreamPool
from lfi_shared.http.problems import problem_response
from lfi_shared.observability.tracing import TraceContext, clean_request_id, new_trace

log = structlog.get_logger("lfi.gateway.proxy")

# RFC 9110 §7.6.1 and the de-facto ones: meaningful for one connection only.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade",
})
# Set by the gateway itself for the next hop (or by the HTTP client).
_REQUEST_REPLACED = frozenset({
    "host", "expect", "content-length", "x-request-id", "traceparent",
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
})
# The gateway's own middleware sets these on the way back (ids, CORS; uvicorn date/server).
_RESPONSE_REPLACED = frozenset({"x-request-id", "traceparent", "date", "server"})
_RESPONSE_DROPPED = frozenset(name.encode() for name in HOP_BY_HOP | _RESPONSE_REPLACED)

BUFFERED_RESPONSE_MAX_BYTES = 1024 * 1024
"""An upstream answer of a declared length up to this is read whole and sent in one piece;
a longer one, or one of unknown length (chunked), is streamed."""


class UpstreamMetrics:
    """Per-service series of the proxied requests, in the gateway's registry: the time until
    the upstream's response headers (or the failure), and the outcome."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.responses = Counter(
            "lfi_gateway_upstream_responses_total",
            "Proxied requests by upstream service and status (the gateway's own 5xx included).",
            ["service", "status"], registry=registry,
        )
        self.latency = Histogram(
            "lfi_gateway_upstream_duration_seconds",
            "Time until an upstream service's response headers.",
            ["service"], registry=registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def observe(self, service: str, status: int, elapsed_s: float) -> None:
        self.responses.labels(service, str(status)).inc()
        self.latency.labels(service).observe(elapsed_s)


class RequestBodyTooLarge(Exception):
    """The request body grew past the limit while it was being read."""


def _connection_listed(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names a ``Connection`` header declares hop-by-hop."""
    listed: set[str] = set()
    for name, value in headers:
        if name == "connection":
            listed.update(token.strip().lower() for token in value.split(",") if token.strip())
    return listed


def declared_length(request: Request) -> int | None:
    """The request's ``Content-Length`` (``None`` when absent or chunked, -1 when malformed)."""
    if "transfer-encoding" in request.headers:
        return None
    value = request.headers.get("content-length")
    if value is None:
        return None
    return int(value) if value.isdigit() else -1


def has_body(request: Request) -> bool:
    """Whether the request carries a body (chunked, or a non-zero ``Content-Length``)."""
    return "transfer-encoding" in request.headers or (declared_length(request) or 0) > 0


def _forwarded_for(request: Request) -> str:
    """The ``X-Forwarded-For`` chain with the client's address appended.

    Not appended twice: when uvicorn trusts a proxy in front (``forwarded_allow_ips``) it has
    taken the client's address from the end of that chain already.
    """
    chain = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")
             if hop.strip()]
    address = request.client.host if request.client else None
    if address and (not chain or chain[-1] != address):
        chain.append(address)
    return ", ".join(chain) or "unknown"


def upstream_request_headers(request: Request, *, request_id: str,
                             trace: TraceContext) -> list[tuple[str, str]]:
    """The headers the upstream gets: the client's end-to-end ones, then the gateway's.

    ``Content-Length`` is not among them: the body goes on whole, and its length with it.
    """
    incoming = [(k.decode("latin-1").lower(), v.decode("latin-1"))
                for k, v in request.scope["headers"]]
    dropped = HOP_BY_HOP | _REQUEST_REPLACED | _connection_listed(incoming)
    headers = [(name, value) for name, value in incoming if name not in dropped]
    headers.append(("x-forwarded-for", _forwarded_for(request)))
    headers.append(("x-forwarded-proto", request.url.scheme))
    if "host" in request.headers:
        headers.append(("x-forwarded-host", request.headers["host"]))
    headers.append(("x-request-id", request_id))
    headers.append(("traceparent", trace.child().traceparent))
    return headers


def client_response_headers(upstream: aiohttp.ClientResponse) -> list[tuple[bytes, bytes]]:
    """The upstream's end-to-end response headers, repeated ones kept (``Set-Cookie``)."""
    raw = [(k.lower(), v) for k, v in upstream.raw_headers]
    dropped = _RESPONSE_DROPPED
    if any(k == b"connection" for k, _ in raw):
        listed = {name.encode("latin-1") for name in _connection_listed(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)}
        dropped = dropped | listed
    return [(k, v) for k, v in raw
            if k not in dropped and not k.startswith(b"access-control-")]


async def read_body(request: Request, limit: int) -> bytes:
    """The whole request body, at most ``limit`` bytes.

    Raises:
        RequestBodyTooLarge: more than ``limit`` bytes arrived.
        ClientDisconnect: the client went away.
    """
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise RequestBodyTooLarge()
        if chunk:
            chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class ProxyResponse(StreamingResponse):
    """The upstream's answer streamed to the client; the upstream response is always closed
    (its connection goes back to the pool only when the answer was read to the end)."""

    def __init__(self, upstream: aiohttp.ClientResponse, service: str) -> None:
        super().__init__(self._relay(upstream, service), status_code=upstream.status)
        self.raw_headers = client_response_headers(upstream)
        self._upstream = upstream

    @staticmethod
    async def _relay(upstream: aiohttp.ClientResponse, service: str) -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as error:
            # Headers are gone already: all that is left is to break the client's connection,
            # so that it cannot take a cut-off body for a whole one.
            log.warning("upstream_stream_broken", service=service, error=type(error).__name__)
            raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._upstream.release()


def read_whole(method: str, upstream: aiohttp.ClientResponse) -> bool:
    """Whether the answer (on a route that does not stream) is to be read whole: its length
    is given and at most :data:`BUFFERED_RESPONSE_MAX_BYTES`, or it has no body at all."""
    length = upstream.content_length
    if length is not None:
        return length <= BUFFERED_RESPONSE_MAX_BYTES
    return method == "HEAD" or upstream.status in (204, 304)


def whole_response(upstream: aiohttp.ClientResponse, body: bytes) -> Response:
    """The upstream's answer, read whole, as the client gets it."""
    response = Response(body, status_code=upstream.status)
    response.raw_headers = client_response_headers(upstream)
    return response


class ReverseProxy:
    """Passes requests to the upstream services of :class:`UpstreamPool`."""

    def __init__(self, upstreams: UpstreamPool, *, default_read_timeout_s: float,
                 max_body_bytes: int, metrics: UpstreamMetrics | None = None) -> None:
        self.upstreams = upstreams
        self.metrics = metrics
        self.default_read_timeout_s = default_read_timeout_s
        self.max_body_bytes = max_body_bytes

    def body_limit(self, route: Route) -> int:
        return self.max_body_bytes if route.max_body_bytes is None else route.max_body_bytes

    def read_timeout(self, route: Route) -> float | None:
        """The route's read timeout; ``None`` (wait for ever) for a streaming route."""
        if route.stream:
            return None
        return route.read_timeout_s or self.default_read_timeout_s

    async def forward(self, request: Request, route: Route) -> Response:
        """Send ``request`` to ``route``'s service; its answer, or a 413/502/503/504 problem."""
        state = request.scope.get("state", {})
        request_id = state.get("request_id") or clean_request_id(None)
        trace = state.get("trace") or new_trace()
        session = self.upstreams.session(route.service)
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
        query: bytes = request.scope.get("query_string", b"")
        target = self.upstreams.base_urls[route.service] + raw_path.decode("latin-1")
        if query:
            target += "?" + query.decode("latin-1")
        headers = upstream_request_headers(request, request_id=request_id, trace=trace)
        started = time.perf_counter()
        upstream: aiohttp.ClientResponse | None = None
        try:
            body = await read_body(request, self.body_limit(route)) if has_body(request) else None
            upstream = await session.request(
                request.method, URL(target, encoded=True), headers=headers, data=body,
                timeout=self.upstreams.proxy_timeout(self.read_timeout(route)),
                allow_redirects=False,
            )
            elapsed = time.perf_counter() - started
            if not route.stream and read_whole(request.method, upstream):
                response: Response = whole_response(upstream, await upstream.read())
            else:
                response = ProxyResponse(upstream, route.service)
                upstream = None  # the response releases it once streamed
        except Exception as error:
            failure = self._failure(error, route, request.url.path)
            if failure is None:
                raise
            response = failure
            elapsed = time.perf_counter() - started
        finally:
            if upstream is not None:
                upstream.release()
        if self.metrics is not None:
            self.metrics.observe(route.service, response.status_code, elapsed)
        return response

    def _failure(self, error: Exception, route: Route, instance: str) -> Response | None:
        """The problem answering a request that could not be passed on; ``None``: unknown."""
        service = route.service
        if isinstance(error, RequestBodyTooLarge):
            return body_too_large(self.body_limit(route), instance)
        if isinstance(error, ClientDisconnect):
            return problem_response(400, detail="the client closed the request early",
                                    instance=instance)
        if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            log.warning("upstream_unavailable", service=service, error=type(error).__name__)
            return problem_response(
                503, instance=instance, headers={"Retry-After": "5"},
                detail=f"the {service} service is unavailable; try again shortly",
            )
        if isinstance(error, TimeoutError):
            log.warning("upstream_timeout", service=service, error=type(error).__name__)
            return problem_response(504, instance=instance,
                                    detail=f"the {service} service did not answer in time")
        if isinstance(error, aiohttp.ClientError):
            log.warning("upstream_failed", service=service, error=type(error).__name__)
            return problem_response(502, instance=instance,
                                    detail=f"the {service} service gave no valid answer")
        return None


def body_too_large(limit: int, instance: str) -> Response:
    """The 413 problem for a body over ``limit`` bytes."""
    return problem_response(413, instance=instance,
                            detail=f"the request body is larger than {limit} bytes")
