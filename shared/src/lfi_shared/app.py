"""The app factory every service uses: lifespan, error table, middleware, health, metrics.

A service calls :func:`create_service_app` with its settings and routers; what it needs at
start (relay, consumers, seed checks) it passes as ``workers``, started after the database and
NATS and stopped before them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry

from lfi_shared.auth.tokens import TokenValidator
from lfi_shared.db import Database
from lfi_shared.http.guard import refuse_unusable_input
from lfi_shared.http.problems import install_problem_handlers
from lfi_shared.nats_connection import NatsConnection
from lfi_shared.observability.health import ReadinessCheck, health_router
from lfi_shared.observability.logging import configure_logging
from lfi_shared.observability.middleware import HttpMetrics, RequestContextMiddleware
from lfi_shared.settings import ServiceSettings

log = structlog.get_logger("lfi.app")


class Worker(Protocol):
    """A background worker of the service (outbox relay, event consumer)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class ServiceRuntime:
    """What a running service holds: settings, database, NATS, metrics, workers."""

    settings: ServiceSettings
    registry: CollectorRegistry
    database: Database | None = None
    nats: NatsConnection | None = None
    workers: list[Worker] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


WorkerFactory = Callable[[ServiceRuntime], Awaitable[Sequence[Worker]]]


def operation_id_from_name(route: APIRoute) -> str:
    """Operation ids are the endpoint function names (``submit_referral``), unique per service."""
    return route.name


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    uses_database: bool = True,
    uses_nats: bool = True,
    workers: WorkerFactory | None = None,
    configure: Callable[[FastAPI, ServiceRuntime], None] | None = None,
) -> FastAPI:
    """Build a service's FastAPI app; nothing connects until the app starts."""
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    registry = CollectorRegistry()
    runtime = ServiceRuntime(settings=settings, registry=registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if uses_database:
            runtime.database = Database(
                settings.database_url, pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                application_name=f"lfi-{settings.service_name}",
            )
            app.state.database = runtime.database
        if uses_nats:
            runtime.nats = NatsConnection(settings.nats_url, name=f"lfi-{settings.service_name}")
            await runtime.nats.start()
            app.state.nats = runtime.nats
        if workers is not None:
            runtime.workers = list(await workers(runtime))
            for worker in runtime.workers:
                await worker.start()
        log.info("service_started", version=settings.version, environment=settings.environment)
        try:
            yield
        finally:
            for worker in reversed(runtime.workers):
                try:
                    await worker.stop()
                except Exception:
                    log.exception("worker_stop_failed", worker=type(worker).__name__)
            if runtime.nats is not None:
                await runtime.nats.close()
            if runtime.database is not None:
                await runtime.database.dispose()
            log.info("service_stopped")

    app = FastAPI(
        title=title,
        description=description,
        version=settings.version,
        lifespan=lifespan,
        generate_unique_id_function=operation_id_from_name,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.token_validator = TokenValidator(settings)
    install_problem_handlers(app)

    checks: dict[str, ReadinessCheck] = {}
    if uses_database:
        async def database_ready() -> None:
            if runtime.database is None:
                raise RuntimeError("not started")
            await runtime.database.ping()
        checks["database"] = database_ready
    if uses_nats:
        async def nats_ready() -> None:
            if runtime.nats is None:
                raise RuntimeError("not started")
            await runtime.nats.ping()
        checks["nats"] = nats_ready

    app.include_router(health_router(checks, registry))
    for router in routers:
        app.include_router(router, dependencies=[Depends(refuse_unusable_input)])
    if configure is not None:
        configure(app, runtime)
    app.add_middleware(RequestContextMiddleware, metrics=HttpMetrics(registry))
    return app


async def wait_forever() -> None:  # pragma: no cover - used by worker-only processes
    await asyncio.Event().wait()
