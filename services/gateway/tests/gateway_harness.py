"""Real HTTP servers for the gateway's tests: apps served by uvicorn on loopback ports.

``serve(app)`` runs an ASGI app under uvicorn in a thread of its own (its own event loop) on a
free port, so tests talk to it over real sockets, as clients and the gateway do.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from lfi_gateway.main import create_app
from lfi_gateway.settings import Settings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dead_url() -> str:
    """The URL of a loopback port where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@contextlib.contextmanager
def serve(app: Any, *, lifespan: str = "on") -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan=lifespan,
                            timeout_graceful_shutdown=1, ws="none",
                            proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def gateway_settings(jwks_path: Path, **overrides: Any) -> Settings:
    """Gateway settings for a test: the test keys, every upstream dead unless overridden."""
    values: dict[str, Any] = {
        "environment": "test",
        "auth_jwks_file": jwks_path,
        "auth_leeway_s": 0,
        "referrals_url": dead_url(),
        "placements_url": dead_url(),
        "funding_url": dead_url(),
        "events_url": dead_url(),
        "upstream_connect_timeout_s": 1.0,
        "upstream_timeout_s": 5.0,
        # Generous: the suite runs on loaded two-core machines, where a healthy service can take
        # a second to answer; the slow and dead cases are made far slower (or refused outright).
        "health_timeout_s": 3.0,
        "openapi_fetch_timeout_s": 30.0,
        "log_json": True,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.contextmanager
def running_gateway(settings: Settings) -> Iterator[str]:
    with serve(create_app(settings)) as url:
        yield url


@dataclass
class SeenRequest:
    method: str
    path: str
    raw_path: str
    query: str
    headers: dict[str, str]
    raw_headers: list[tuple[str, str]]
    body: bytes


@dataclass
class StandInService:
    """An upstream that records every request it gets and answers with what it saw.

    ``GET /v1/.../slow?delay=S`` answers after S seconds; ``GET /v1/events/stream`` sends
    ``events`` server-sent events ``interval_s`` apart; ``/health/ready`` answers 200, or 503
    when ``ready`` is false, after ``health_delay_s``. ``/v1/.../chunked`` answers in chunks
    of unknown length (``parts`` of them, ``size`` bytes each), ``/v1/.../gzipped`` with a
    gzip-encoded body, ``/v1/.../nothing`` with 204.
    """

    name: str
    ready: bool = True
    health_delay_s: float = 0.0
    events: int = 3
    interval_s: float = 0.5
    requests: list[SeenRequest] = field(default_factory=list)

    @property
    def proxied(self) -> list[SeenRequest]:
        """The requests other than readiness probes."""
        return [seen for seen in self.requests if not seen.path.startswith("/health")]

    def app(self) -> Starlette:
        async def record(request: Request) -> SeenRequest:
            body = await request.body()
            seen = SeenRequest(
                method=request.method,
                path=request.url.path,
                raw_path=request.scope["raw_path"].decode(),
                query=request.url.query,
                headers={k.lower(): v for k, v in request.headers.items()},
                raw_headers=[(k.decode().lower(), v.decode()) for k, v in request.scope["headers"]],
                body=body,
            )
            self.requests.append(seen)
            return seen

        async def ready(request: Request) -> Response:
            await record(request)
            await asyncio.sleep(self.health_delay_s)
            status = 200 if self.ready else 503
            checks = {"database": "ok", "nats": "ok" if self.ready else "failing: TimeoutError"}
            return JSONResponse({"status": "ok" if self.ready else "unavailable",
                                 "checks": checks}, status_code=status)

        async def stream(request: Request) -> Response:
            await record(request)

            async def events() -> AsyncIterator[bytes]:
                for number in range(1, self.events + 1):
                    yield f"id: {number}\nevent: tick\ndata: {number}\n\n".encode()
                    if number < self.events:
                        await asyncio.sleep(self.interval_s)

            return StreamingResponse(events(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})

        async def anything(request: Request) -> Response:
            seen = await record(request)
            if request.url.path.endswith("/slow"):
                await asyncio.sleep(float(request.query_params.get("delay", "3")))
            if request.url.path.endswith("/chunked"):
                parts = int(request.query_params.get("parts", "3"))
                size = int(request.query_params.get("size", "10"))

                async def chunks() -> AsyncIterator[bytes]:
                    for number in range(parts):
                        yield str(number % 10).encode() * size

                return StreamingResponse(chunks(), media_type="text/plain",
                                         headers={"X-Upstream": self.name})
            if request.url.path.endswith("/gzipped"):
                return Response(gzip.compress(b'{"compressed": true}'),
                                media_type="application/json",
                                headers={"Content-Encoding": "gzip"})
            if request.url.path.endswith("/nothing"):
                return Response(status_code=204, headers={"X-Upstream": self.name})
            response = JSONResponse({
                "service": self.name,
                "method": seen.method,
                "path": seen.path,
                "query": seen.query,
                "body_bytes": len(seen.body),
            }, headers={"ETag": '"v1"', "X-Upstream": self.name})
            response.raw_headers.append((b"set-cookie", b"a=1"))
            response.raw_headers.append((b"set-cookie", b"b=2"))
            return response

        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return Starlette(routes=[
            Route("/health/ready", ready),
            Route("/v1/events/stream", stream),
            Route("/{path:path}", anything, methods=methods),
        ])


@contextlib.contextmanager
def stand_in(name: str, **options: Any) -> Iterator[tuple[StandInService, str]]:
    service = StandInService(name, **options)
    with serve(service.app()) as url:
        yield service, url
