"""A rate limit per client: the token's subject when a valid token came, else the address.

The counters live in the memory of each gateway replica (``memory://``): with N replicas
behind a load balancer a client may get up to N times the limit. Name a shared storage in
``LFI_GATEWAY_RATE_LIMIT_STORAGE_URI`` (``redis://…``, with the ``limits[redis]`` extra) for
one counter across replicas. A moving window is used, so ``Retry-After`` is exact: the time
until the oldest counted request leaves the window.

In memory the window is :class:`MemoryMovingWindow`, the ``limits`` library's moving window
kept in a queue per client: a few operations per request, where the library's own in-memory
storage hands its clean-up of old entries to a thread (or starts a timer thread) every few
milliseconds of traffic. A shared storage is used through ``limits`` itself.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

_IN_MEMORY = ("memory://", "async+memory://")


class MemoryMovingWindow:
    """A moving window of ``amount`` hits per ``window_s`` seconds for each key, in memory.

    The same rule as the ``limits`` library's moving window: a hit is refused while
    ``amount`` hits of the key fall within the last ``window_s`` seconds (refused hits are
    not counted), and the wait is until the oldest of them leaves the window. Each key keeps
    only the times of its hits still in the window (at most ``amount``); keys idle for a whole
    window are dropped once per window.
    """

    def __init__(self, amount: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.amount = amount
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._next_sweep = clock() + window_s

    def hit(self, key: str) -> float | None:
        """Count one hit of ``key``: ``None`` if allowed, else the seconds until one would be."""
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        horizon = now - self.window_s
        while hits and hits[0] < horizon:
            hits.popleft()
        if len(hits) >= self.amount:
            return hits[0] + self.window_s - now if hits else self.window_s
        hits.append(now)
        return None

    def __len__(self) -> int:
        """The number of keys held."""
        return len(self._hits)

    def _sweep(self, now: float) -> None:
        horizon = now - self.window_s
        for key in [key for key, hits in self._hits.items() if not hits or hits[-1] < horizon]:
            del self._hits[key]
        self._next_sweep = now + self.window_s


class ClientRateLimiter:
    """Counts each client's requests against one limit (e.g. ``600/minute``)."""

    def __init__(self, limit: str, storage_uri: str = "memory://") -> None:
        """Parse the limit and open the storage.

        Raises:
            ValueError: ``limit`` is not in the ``limits`` notation.
            limits.errors.ConfigurationError: the storage is unknown or its driver missing.
        """
        self.item = parse(limit)
        self._memory: MemoryMovingWindow | None = None
        self._shared: MovingWindowRateLimiter | None = None
        if storage_uri in _IN_MEMORY:
            self._memory = MemoryMovingWindow(self.item.amount, self.item.get_expiry())
        else:
            uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
            self._shared = MovingWindowRateLimiter(storage_from_string(uri))

    @property
    def description(self) -> str:
        return str(self.item)

    async def hit(self, client_key: str) -> int | None:
        """Count one request of ``client_key``: ``None`` if allowed, else the seconds to wait."""
        if self._memory is not None:
            wait = self._memory.hit(client_key)
            return None if wait is None else max(1, math.ceil(wait))
        assert self._shared is not None
        if await self._shared.hit(self.item, client_key):
            return None
        stats = await self._shared.get_window_stats(self.item, client_key)
        return max(1, math.ceil(stats.reset_time - time.time()))


def client_key(subject: str | None, address: str | None) -> str:
    """The key a client is counted under: ``sub:<subject>``, else ``addr:<address>``."""
    if subject:
        return f"sub:{subject}"
    return f"addr:{address or 'unknown'}"
