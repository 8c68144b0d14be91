"""Latency statistics over every recorded latency (no sampling, no histogram buckets)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(ordered: Sequence[float], p: float) -> float:
    """The ``p``-th percentile of an ascending sequence, by the nearest-rank method.

    The smallest value with at least ``p`` percent of the values at or below it: for 1 … 100,
    p50 is 50 and p99 is 99. Nearest rank returns a latency that was observed, never an
    interpolation between two.

    Raises:
        ValueError: the sequence is empty, or ``p`` is outside 0 … 100.
    """
    if not ordered:
        raise ValueError("no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile out of range: {p}")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LatencyStats:
    """Summary of a list of latencies, in milliseconds."""

    count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float

    @classmethod
    def from_seconds(cls, latencies_s: Sequence[float]) -> LatencyStats | None:
        """Statistics of latencies given in seconds; ``None`` for an empty list."""
        if not latencies_s:
            return None
        ordered = sorted(latencies_s)
        ms = 1000.0
        return cls(
            count=len(ordered),
            mean_ms=sum(ordered) / len(ordered) * ms,
            p50_ms=percentile(ordered, 50) * ms,
            p95_ms=percentile(ordered, 95) * ms,
            p99_ms=percentile(ordered, 99) * ms,
            max_ms=ordered[-1] * ms,
            min_ms=ordered[0] * ms,
        )

    def to_json(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LatencyStats:
        return cls(**data)


@dataclass(frozen=True)
class LoadStats:
    """What a load run measured for one kind of request (or for all together).

    ``rate`` counts successful requests only, over the measured window: an error that comes
    back fast must not make a service look quicker.
    """

    ok: int
    errors: int
    window_s: float
    latency: LatencyStats | None

    @property
    def rate(self) -> float:
        return self.ok / self.window_s if self.window_s > 0 else 0.0

    @classmethod
    def from_samples(cls, latencies_s: Sequence[float], errors: int, window_s: float) -> LoadStats:
        return cls(ok=len(latencies_s), errors=errors, window_s=window_s,
                   latency=LatencyStats.from_seconds(latencies_s))

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": self.errors,
            "window_s": round(self.window_s, 4),
            "rate_per_s": round(self.rate, 2),
            "latency": self.latency.to_json() if self.latency else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadStats:
        latency = data.get("latency")
        return cls(ok=data["ok"], errors=data["errors"], window_s=data["window_s"],
                   latency=LatencyStats.from_json(latency) if latency else None)
