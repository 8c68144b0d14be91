"""A small durable pull loop for the service's own JetStream readers (advisories).

Reconnects with backoff and never drops a message: a message is acknowledged only after its
handler returned; a failing handler's message is nak'ed and comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from lfi_shared.messaging import Backoff, connect_nats
from lfi_shared.messaging.connection import close_quietly

log = structlog.get_logger("lfi.events.pull")


class DurablePullLoop:
    """Create (or update) a stream and a durable on it, then hand each message to ``handle``."""

    def __init__(self, *, name: str, nats_url: str, stream: StreamConfig, durable: str,
                 handle: Callable[[JetStreamContext, Msg], Awaitable[None]],
                 fetch_timeout_s: float = 5.0, batch_size: int = 50) -> None:
        self.name = name
        self.nats_url = nats_url
        self.stream = stream
        self.durable = durable
        self.handle = handle
        self.fetch_timeout_s = fetch_timeout_s
        self.batch_size = batch_size
        self.backoff = Backoff(base_s=0.5, cap_s=30.0)
        self._nc: Client | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await close_quietly(self._nc)
        self._nc = None

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                self.failures += 1
                delay = self.backoff.delay(attempt)
                log.warning("pull_loop_failed", loop=self.name, attempt=attempt,
                            retry_in_s=round(delay, 2), error=repr(exc))
                await close_quietly(self._nc)
                self._nc = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def ensure_stream(self, js: JetStreamContext) -> None:
        assert self.stream.name is not None
        try:
            await js.stream_info(self.stream.name)
        except NotFoundError:
            await js.add_stream(self.stream)
            return
        await js.update_stream(self.stream)

    async def _consume(self) -> None:
        self._nc = await connect_nats(self.nats_url, name=self.name)
        js = self._nc.jetstream()
        await self.ensure_stream(js)
        assert self.stream.name is not None
        await js.add_consumer(self.stream.name, config=ConsumerConfig(
            name=self.durable, durable_name=self.durable, deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0, max_deliver=-1))
        sub = await js.pull_subscribe_bind(durable=self.durable, stream=self.stream.name)
        while not self._stopping.is_set():
            try:
                messages = await sub.fetch(self.batch_size, timeout=self.fetch_timeout_s)
            except TimeoutError:
                continue
            for msg in messages:
                try:
                    await self.handle(js, msg)
                except Exception as exc:
                    log.warning("pull_loop_message_failed", loop=self.name, error=repr(exc))
                    await msg.nak(delay=self.backoff.delay(msg.metadata.num_delivered or 1))
                    continue
                await msg.ack()
