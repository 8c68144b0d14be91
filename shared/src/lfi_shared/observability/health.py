"""``/health/live``, ``/health/ready`` and ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

ReadinessCheck = Callable[[], Awaitable[None]]


class HealthReport(BaseModel):
    status: str
    checks: dict[str, str] = {}


def health_router(checks: Mapping[str, ReadinessCheck], registry: CollectorRegistry,
                  *, timeout_s: float = 2.0) -> APIRouter:
    """Liveness (the process answers), readiness (each dependency answers) and metrics."""
    router = APIRouter(tags=["operations"], include_in_schema=True)

    @router.get("/health/live", response_model=HealthReport, operation_id="health_live",
                summary="The process is alive")
    async def live() -> HealthReport:
        return HealthReport(status="ok")

    @router.get("/health/ready", response_model=HealthReport, operation_id="health_ready",
                summary="The service can do its work (database and NATS answer)",
                responses={503: {"model": HealthReport}})
    async def ready(request: Request) -> Response:
        results: dict[str, str] = {}

        async def run(name: str, check: ReadinessCheck) -> None:
            try:
                await asyncio.wait_for(check(), timeout_s)
                results[name] = "ok"
            except Exception as exc:  # a failing dependency is a report, not an error
                results[name] = f"failing: {type(exc).__name__}"

        await asyncio.gather(*(run(n, c) for n, c in checks.items()))
        ok = all(v == "ok" for v in results.values())
        report = HealthReport(status="ok" if ok else "unavailable", checks=results)
        return JSONResponse(report.model_dump(), status_code=200 if ok else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
