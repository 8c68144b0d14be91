"""Exponential backoff with jitter, for retries against NATS, PostgreSQL and failing handlers."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delays ``base · 2^(attempt-1)``, capped at ``cap``, with "equal jitter".

    The jitter keeps many processes that lost the same server from retrying in lock-step.
    """

    base_s: float = 0.5
    cap_s: float = 30.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s < self.base_s:
            raise ValueError("need 0 < base_s <= cap_s")

    def delay(self, attempt: int) -> float:
        """The delay in seconds before retry number ``attempt`` (1 for the first retry)."""
        exponent = min(max(attempt, 1) - 1, 32)
        ceiling = min(self.cap_s, self.base_s * 2.0**exponent)
        if not self.jitter:
            return ceiling
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def __call__(self, attempt: int) -> float:
        return self.delay(attempt)
