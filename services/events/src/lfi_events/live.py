"""The wake-up behind the live stream: LISTEN on the store's channel, polling as a fallback.

One LISTEN connection per process; each SSE client waits on :meth:`LiveFeed.wait` and then
reads the store after its last position. Reading the store (not the notification) is what
makes the stream gap-free and repeat-free: a notification only says "look again".
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from lfi_events.db.models import live_channel
from lfi_shared.db import Database, to_asyncpg_dsn

log = structlog.get_logger("lfi.events.live")


class LiveFeed:
    """Wakes waiting SSE clients when events are stored (a worker of the app)."""

    def __init__(self, *, database: Database, schema: str, retry_s: float = 2.0) -> None:
        self.database = database
        self.channel = live_channel(schema)
        self.retry_s = retry_s
        self._generation = 0
        self._changed = asyncio.Condition()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._keep_listening(), name="events-live-feed")

    async def stop(self) -> None:
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._close()
        await self.notify()  # let waiting clients finish their wait

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def notify(self) -> None:
        async with self._changed:
            self._generation += 1
            self._changed.notify_all()

    async def wait(self, timeout_s: float) -> None:
        """Return when events were stored, or after ``timeout_s`` (the polling fallback)."""
        async with self._changed:
            seen = self._generation
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._generation != seen), timeout_s)

    def _on_notify(self, *_args: object) -> None:
        asyncio.get_running_loop().create_task(self.notify())

    async def _keep_listening(self) -> None:
        while not self._stopping.is_set():
            if not self.listening:
                try:
                    conn = await asyncpg.connect(to_asyncpg_dsn(self.database.url), timeout=5)
                    await conn.add_listener(self.channel, self._on_notify)
                    self._conn = conn
                    await self.notify()  # events may have been stored while nobody listened
                except Exception as exc:
                    log.warning("live_listen_failed", error=repr(exc))
            await asyncio.sleep(self.retry_s)

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), timeout=5)
            except Exception:
                conn.terminate()
