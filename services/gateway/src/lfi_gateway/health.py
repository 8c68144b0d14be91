"""``/health`` and ``/health/ready``: the readiness of every upstream service in one report.

Each upstream's own ``/health/ready`` is asked at the same time, each with a short timeout;
the report is 200 when every one is ready, else 503 naming those that are not. (The gateway's
``/health/live`` says only that the gateway process answers.)
"""

from __future__ import annotations

import asyncio
from typing import Literal

import httpx
from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from lfi_gateway.upstreams import UpstreamPool

UpstreamState = Literal["ok", "not_ready", "unreachable", "timeout"]


class UpstreamReadiness(BaseModel):
    """One upstream's answer to ``/health/ready``."""

    status: UpstreamState
    detail: str | None = None
    checks: dict[str, str] | None = Field(
        default=None, description="The upstream's own checks (database, NATS), when it said.")


class GatewayReadiness(BaseModel):
    """The readiness of the platform behind the gateway."""

    status: Literal["ok", "unavailable"]
    services: dict[str, UpstreamReadiness]
    not_ready: list[str] = Field(description="The services that are not ready, if any.")


async def upstream_readiness(upstreams: UpstreamPool, service: str,
                             timeout_s: float) -> UpstreamReadiness:
    """Ask ``service`` for its ``/health/ready``; never raises for the service's faults."""
    try:
        response = await upstreams.client(service).get(
            "/health/ready", timeout=httpx.Timeout(timeout_s))
    except httpx.TimeoutException:
        return UpstreamReadiness(status="timeout", detail=f"no answer within {timeout_s} s")
    except httpx.TransportError as error:
        return UpstreamReadiness(status="unreachable", detail=type(error).__name__)
    checks = _checks(response)
    if response.status_code == 200:
        return UpstreamReadiness(status="ok", checks=checks)
    return UpstreamReadiness(status="not_ready", detail=f"HTTP {response.status_code}",
                             checks=checks)


def _checks(response: httpx.Response) -> dict[str, str] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    checks = body.get("checks") if isinstance(body, dict) else None
    if not isinstance(checks, dict):
        return None
    return {str(name): str(value) for name, value in checks.items()}


async def platform_readiness(upstreams: UpstreamPool, timeout_s: float) -> GatewayReadiness:
    """Every upstream's readiness, asked concurrently."""
    services = upstreams.services
    answers = await asyncio.gather(
        *(upstream_readiness(upstreams, name, timeout_s) for name in services))
    report = dict(zip(services, answers, strict=True))
    not_ready = [name for name, answer in report.items() if answer.status != "ok"]
    return GatewayReadiness(status="unavailable" if not_ready else "ok", services=report,
                            not_ready=not_ready)


def health_router(upstreams: UpstreamPool, timeout_s: float) -> APIRouter:
    router = APIRouter(tags=["operations"])
    responses: dict[int | str, dict[str, object]] = {
        503: {"model": GatewayReadiness, "description": "Some services are not ready"},
    }

    async def readiness() -> JSONResponse:
        report = await platform_readiness(upstreams, timeout_s)
        return JSONResponse(report.model_dump(mode="json"),
                            status_code=200 if report.status == "ok" else 503)

    router.add_api_route(
        "/health", readiness, methods=["GET"], response_model=GatewayReadiness,
        operation_id="health", responses=responses,
        summary="Every service behind the gateway is ready",
    )
    router.add_api_route(
        "/health/ready", readiness, methods=["GET"], response_model=GatewayReadiness,
        operation_id="health_ready", responses=responses,
        summary="Every service behind the gateway is ready (as /health)",
    )
    return router
