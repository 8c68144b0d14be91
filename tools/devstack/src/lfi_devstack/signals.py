"""SIGINT and SIGTERM as a request to stop, not an exception at an arbitrary line.

While a devstack command runs, both signals set an event that every wait checks, so the
command always reaches the code that stops what it started. A second signal changes nothing:
the stop is already under way and is bounded by the children's stop timeouts.

The handler does no I/O (a write from a handler can land inside another write to the same
stream); the command reports the signal when it sees the event.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any


class StopSignals:
    def __init__(self, on_signal: Callable[[int], None] | None = None) -> None:
        self.event = threading.Event()
        self.received: int | None = None
        self._on_signal = on_signal
        self._previous: dict[int, Any] = {}

    @property
    def received_name(self) -> str:
        return signal.Signals(self.received).name if self.received else "stop"

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if not self.event.is_set():
            self.received = signum
            self.event.set()
        if self._on_signal is not None:
            self._on_signal(signum)

    def __enter__(self) -> StopSignals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
