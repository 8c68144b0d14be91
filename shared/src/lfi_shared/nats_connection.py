"""One NATS connection per service process that keeps itself connected.

The service starts even while NATS is down (readiness says so); the connection is made in the
background and nats-py reconnects by itself after that.
"""

from __future__ import annotations

import asyncio
import contextlib

import nats
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext

from lfi_shared.messaging.connection import nats_servers

log = structlog.get_logger("lfi.nats")


class NatsConnection:
    def __init__(self, url: str, *, name: str, retry_interval_s: float = 1.0) -> None:
        self.url = url
        self.name = name
        self.retry_interval_s = retry_interval_s
        self._client: Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, wait_s: float = 2.0) -> None:
        """Begin connecting; waits up to ``wait_s`` for the first connection."""
        self._task = asyncio.create_task(self._connect_until_done(), name=f"nats-connect-{self.name}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), wait_s)

    async def _connect_until_done(self) -> None:
        while True:
            try:
                self._client = await nats.connect(
                    nats_servers(self.url), name=self.name, max_reconnect_attempts=-1,
                    reconnect_time_wait=self.retry_interval_s, connect_timeout=2,
                    allow_reconnect=True,
                )
                self._connected.set()
                log.info("nats_connected")
                return
            except Exception as exc:
                log.warning("nats_connect_failed", error=type(exc).__name__)
                await asyncio.sleep(self.retry_interval_s)

    async def client(self) -> Client:
        """The connected client; waits for the first connection."""
        await self._connected.wait()
        assert self._client is not None
        return self._client

    async def jetstream(self) -> JetStreamContext:
        return (await self.client()).jetstream()

    @property
    def is_connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def ping(self) -> None:
        if self._client is None or not self._client.is_connected:
            raise ConnectionError("NATS is not connected")
        await self._client.flush(timeout=1)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None and not self._client.is_closed:
            with contextlib.suppress(Exception):
                await self._client.drain()
