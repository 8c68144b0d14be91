"""The load generator's HTTP calls: each one timed and recorded as a success or an error.

An operation (a scenario's unit of work: "create a draft, then submit it") makes its requests
through :class:`HttpSession`, which records every latency, labelled by the kind of request.
A request whose status is not one of those expected is an error, kept with its status and
the start of its body so that a report can say what went wrong.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

MAX_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class Reply:
    """A response as an operation sees it; ``status`` 0 when no response came at all.

    Header names are lower case.
    """

    status: int
    ok: bool
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Recorder:
    """Every latency from ``measure_from`` on (``time.perf_counter`` seconds), by label.

    Requests that start before ``measure_from`` are the warm-up: sent, not recorded.
    """

    measure_from: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    error_reasons: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    operations_ok: int = 0
    operations_failed: int = 0
    last_completion: float = 0.0

    def success(self, label: str, started: float, ended: float) -> None:
        if started < self.measure_from:
            return
        self.latencies.setdefault(label, []).append(ended - started)
        self.last_completion = max(self.last_completion, ended)

    def failure(self, label: str, started: float, reason: str, sample: str = "") -> None:
        if started < self.measure_from:
            return
        self.latencies.setdefault(label, [])
        self.errors[label] += 1
        self.error_reasons[f"{label}: {reason}"] += 1
        self.last_completion = max(self.last_completion, time.perf_counter())
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(f"{label}: {reason} {sample}".strip()[:600])

    def operation(self, started: float, completed: bool) -> None:
        if started < self.measure_from:
            return
        if completed:
            self.operations_ok += 1
        else:
            self.operations_failed += 1


class HttpSession:
    """Timed requests on one pooled aiohttp session (paths relative to its base URL)."""

    def __init__(self, session: aiohttp.ClientSession, recorder: Recorder) -> None:
        self.session = session
        self.recorder = recorder

    async def request(self, label: str, method: str, path: str, *,
                      json_body: Any = None, headers: Mapping[str, str] | None = None,
                      expect: Collection[int] = (200,)) -> Reply:
        """Send one request, read the whole body, record the latency; never raises for HTTP."""
        started = time.perf_counter()
        try:
            async with self.session.request(method, path, json=json_body,
                                            headers=headers) as response:
                body = await response.read()
                status = response.status
                reply_headers = {k.lower(): v for k, v in response.headers.items()}
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.recorder.failure(label, started, type(exc).__name__, str(exc)[:200])
            return Reply(0, False, {}, b"")
        ended = time.perf_counter()
        ok = status in expect
        if ok:
            self.recorder.success(label, started, ended)
        else:
            self.recorder.failure(label, started, f"HTTP {status}",
                                  body[:400].decode("utf-8", errors="replace"))
        return Reply(status, ok, reply_headers, body)
