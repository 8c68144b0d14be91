"""A rate limit per client: the token's subject when a valid token came, else the address.

The counters live in the memory of each gateway replica (``memory://``): with N replicas
behind a load balancer a client may get up to N times the limit. Name a shared storage in
``LFI_GATEWAY_RATE_LIMIT_STORAGE_URI`` (``redis://…``, with the ``limits[redis]`` extra) for
one counter across replicas. A moving window is used, so ``Retry-After`` is exact: the time
until the oldest counted request leaves the window.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string


class ClientRateLimiter:
    """Counts each client's requests against one limit (e.g. ``600/minute``)."""

    def __init__(self, limit: str, storage_uri: str = "memory://") -> None:
        """Parse the limit and open the storage.

        Raises:
            ValueError: ``limit`` is not in the ``limits`` notation.
            limits.errors.ConfigurationError: the storage is unknown or its driver missing.
        """
        self.item = parse(limit)
        uri = storage_uri if storage_uri.startswith("async+") else f"async+{storage_uri}"
        self._limiter = MovingWindowRateLimiter(storage_from_string(uri))

    @property
    def description(self) -> str:
        return str(self.item)

    async def hit(self, client_key: str) -> int | None:
        """Count one request of ``client_key``: ``None`` if allowed, else the seconds to wait."""
        if await self._limiter.hit(self.item, client_key):
            return None
        stats = await self._limiter.get_window_stats(self.item, client_key)
        return max(1, math.ceil(stats.reset_time - time.time()))


def client_key(subject: str | None, address: str | None) -> str:
    """The key a client is counted under: ``sub:<subject>``, else ``addr:<address>``."""
    if subject:
        return f"sub:{subject}"
    return f"addr:{address or 'unknown'}"
