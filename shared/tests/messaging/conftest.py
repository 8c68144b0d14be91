"""Fixtures of the messaging tests (real PostgreSQL and NATS, each test in its own schema and
its own NATS namespace)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from messaging_harness import Harness, make_harness


@pytest.fixture
async def harness(make_service_schema: Callable[[str], Awaitable[str]], nats_url: str,
                  nats_namespace: str) -> AsyncIterator[Harness]:
    h = await make_harness(make_service_schema, nats_url=nats_url, nats_namespace=nats_namespace)
    try:
        yield h
    finally:
        await h.close()
