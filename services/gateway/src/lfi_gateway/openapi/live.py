"""``/openapi.json`` of the running gateway: the services' documents fetched, merged, cached.

Each service's ``/openapi.json`` is fetched (all at once, each with a short timeout) and the
merged document kept for ``openapi_cache_ttl_s``. A service that cannot be reached is named in
``x-lfi-missing-services`` (or, when an earlier copy of its document is at hand, that copy is
used and the service named in ``x-lfi-stale-services``); such a document is kept only for
``openapi_retry_after_s``, so the gap closes soon after the service is back.

The running gateway never imports a service: see :mod:`lfi_gateway.openapi.offline` for that.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from lfi_gateway.openapi.merge import merge_openapi
from lfi_gateway.settings import Settings
from lfi_gateway.upstreams import UpstreamPool

log = structlog.get_logger("lfi.gateway.openapi")

ASYNCAPI_PATH = "/v1/asyncapi.json"


@dataclass
class _Cached:
    document: dict[str, Any]
    expires_at: float


class OpenApiAggregator:
    """Builds and caches the merged document from the upstreams' documents."""

    def __init__(self, upstreams: UpstreamPool, settings: Settings) -> None:
        self.upstreams = upstreams
        self.settings = settings
        self._last_good: dict[str, dict[str, Any]] = {}
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()

    async def document(self, gateway_document: dict[str, Any]) -> dict[str, Any]:
        """The merged document, from the cache while it is fresh."""
        cached = self._cached
        if cached is not None and time.monotonic() < cached.expires_at:
            return cached.document
        async with self._lock:  # one refresh at a time; the others wait for its result
            cached = self._cached
            if cached is not None and time.monotonic() < cached.expires_at:
                return cached.document
            document, complete = await self._build(gateway_document)
            ttl = (self.settings.openapi_cache_ttl_s if complete
                   else min(self.settings.openapi_cache_ttl_s,
                            self.settings.openapi_retry_after_s))
            self._cached = _Cached(document, time.monotonic() + ttl)
            return document

    def invalidate(self) -> None:
        self._cached = None

    async def _build(self, gateway_document: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        services = self.upstreams.services
        fetched = await asyncio.gather(*(self._fetch(name) for name in services))
        documents: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        stale: list[str] = []
        for name, document in zip(services, fetched, strict=True):
            if document is not None:
                self._last_good[name] = document
                documents[name] = document
            elif name in self._last_good:
                documents[name] = self._last_good[name]
                stale.append(name)
            else:
                missing.append(name)
        merged = merge_openapi(
            gateway_document, documents, version=self.settings.version,
            asyncapi_url=f"{self.settings.public_url}{ASYNCAPI_PATH}",
            missing=missing, stale=stale,
        )
        return merged, not missing and not stale

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        timeout = httpx.Timeout(self.settings.openapi_fetch_timeout_s)
        try:
            response = await self.upstreams.client(service).get("/openapi.json",
                                                                 timeout=timeout)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            log.warning("openapi_fetch_failed", service=service, error=type(error).__name__)
            return None
        if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
            log.warning("openapi_fetch_failed", service=service, error="not an OpenAPI document")
            return None
        return document


def openapi_router(aggregator: OpenApiAggregator) -> APIRouter:
    router = APIRouter()

    @router.get("/openapi.json", include_in_schema=False)
    async def merged_openapi(request: Request) -> JSONResponse:
        return JSONResponse(await aggregator.document(request.app.openapi()))

    return router
