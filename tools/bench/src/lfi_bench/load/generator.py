"""The load generator: a fixed number of connections, each running operations back to back.

Two shapes:

* **closed loop** (``mode="loop"``): ``concurrency`` workers, each on its own keep-alive
  connection, run the operation again and again for ``warmup_s + duration_s``; only what
  starts after the warm-up is recorded. Requests per second count successful requests over
  the measured window (from the end of the warm-up to the last recorded completion).
* **burst** (``mode="burst"``): ``count`` operations started at once, on as many
  connections; the figure is the time from the first request to the last reply.

Operations are named ``"package.module:Name"`` and built from JSON parameters, so that the
generator can run in a process of its own (:mod:`lfi_bench.load.worker`), away from the
server it measures and from the bench's own bookkeeping.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import aiohttp

from lfi_bench.load.http import HttpSession, Recorder
from lfi_bench.load.stats import LoadStats


class Operation(Protocol):
    """One unit of work: makes its requests through ``http``; True when it completed."""

    async def __call__(self, http: HttpSession, worker: int, iteration: int) -> bool: ...


class OperationFactory(Protocol):
    def __call__(self, params: Mapping[str, Any]) -> Operation: ...


@dataclass(frozen=True)
class LoadSpec:
    """What to run, against what, for how long (JSON-serialisable: it crosses processes)."""

    base_url: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)
    mode: Literal["loop", "burst"] = "loop"
    concurrency: int = 16
    duration_s: float = 10.0
    warmup_s: float = 1.0
    count: int = 0
    timeout_s: float = 30.0
    headers: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url, "operation": self.operation, "params": self.params,
            "mode": self.mode, "concurrency": self.concurrency, "duration_s": self.duration_s,
            "warmup_s": self.warmup_s, "count": self.count, "timeout_s": self.timeout_s,
            "headers": self.headers,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadSpec:
        return cls(**data)


@dataclass(frozen=True)
class LoadReport:
    """What one load run measured."""

    overall: LoadStats
    by_label: dict[str, LoadStats]
    operations_ok: int
    operations_failed: int
    elapsed_s: float
    error_reasons: dict[str, int]
    error_samples: list[str]
    concurrency: int

    @property
    def operations_per_s(self) -> float:
        return self.operations_ok / self.overall.window_s if self.overall.window_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_json(),
            "by_label": {k: v.to_json() for k, v in self.by_label.items()},
            "operations_ok": self.operations_ok,
            "operations_failed": self.operations_failed,
            "operations_per_s": round(self.operations_per_s, 2),
            "elapsed_s": round(self.elapsed_s, 4),
            "error_reasons": self.error_reasons,
            "error_samples": self.error_samples,
            "concurrency": self.concurrency,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoadReport:
        return cls(
            overall=LoadStats.from_json(data["overall"]),
            by_label={k: LoadStats.from_json(v) for k, v in data["by_label"].items()},
            operations_ok=data["operations_ok"],
            operations_failed=data["operations_failed"],
            elapsed_s=data["elapsed_s"],
            error_reasons=dict(data["error_reasons"]),
            error_samples=list(data["error_samples"]),
            concurrency=data["concurrency"],
        )


def load_operation(name: str, params: Mapping[str, Any]) -> Operation:
    """Build the operation ``"package.module:Name"`` from ``params``.

    Raises:
        ValueError: the name is not ``module:attribute``.
        ImportError, AttributeError: no such operation.
    """
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"an operation is named 'package.module:Name', not {name!r}")
    factory: OperationFactory = getattr(importlib.import_module(module_name), attribute)
    return factory(params)


def summarise(recorder: Recorder, *, window_s: float, elapsed_s: float,
              concurrency: int) -> LoadReport:
    """The report of a finished run from its recorder."""
    by_label = {
        label: LoadStats.from_samples(latencies, recorder.errors[label], window_s)
        for label, latencies in recorder.latencies.items()
    }
    every = [x for latencies in recorder.latencies.values() for x in latencies]
    return LoadReport(
        overall=LoadStats.from_samples(every, sum(recorder.errors.values()), window_s),
        by_label=by_label,
        operations_ok=recorder.operations_ok,
        operations_failed=recorder.operations_failed,
        elapsed_s=elapsed_s,
        error_reasons=dict(recorder.error_reasons),
        error_samples=list(recorder.error_samples),
        concurrency=concurrency,
    )


async def run(spec: LoadSpec) -> LoadReport:
    """Run ``spec`` in this process (see :mod:`lfi_bench.load.worker` for another one)."""
    operation = load_operation(spec.operation, spec.params)
    connections = spec.count if spec.mode == "burst" else spec.concurrency
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    timeout = aiohttp.ClientTimeout(total=spec.timeout_s)
    async with aiohttp.ClientSession(spec.base_url, connector=connector, timeout=timeout,
                                     headers=spec.headers) as session:
        if spec.mode == "burst":
            return await _burst(session, operation, spec.count)
        return await _closed_loop(session, operation, spec)


async def _closed_loop(session: aiohttp.ClientSession, operation: Operation,
                       spec: LoadSpec) -> LoadReport:
    began = time.perf_counter()
    recorder = Recorder(measure_from=began + spec.warmup_s)
    until = recorder.measure_from + spec.duration_s
    http = HttpSession(session, recorder)

    async def worker(index: int) -> None:
        iteration = 0
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                completed = await operation(http, index, iteration)
            except Exception as exc:  # a broken operation is an error, not a crash of the run
                recorder.failure("operation", started, type(exc).__name__, str(exc)[:300])
                completed = False
            recorder.operation(started, completed)
            iteration += 1

    await asyncio.gather(*(worker(i) for i in range(spec.concurrency)))
    ended = time.perf_counter()
    window = max(recorder.last_completion, until) - recorder.measure_from
    return summarise(recorder, window_s=window, elapsed_s=ended - began,
                     concurrency=spec.concurrency)


async def _burst(session: aiohttp.ClientSession, operation: Operation, count: int) -> LoadReport:
    recorder = Recorder(measure_from=0.0)
    http = HttpSession(session, recorder)
    started = time.perf_counter()

    async def one(index: int) -> None:
        began = time.perf_counter()
        try:
            completed = await operation(http, index, 0)
        except Exception as exc:
            recorder.failure("operation", began, type(exc).__name__, str(exc)[:300])
            completed = False
        recorder.operation(began, completed)

    await asyncio.gather(*(one(i) for i in range(count)))
    elapsed = time.perf_counter() - started
    return summarise(recorder, window_s=elapsed, elapsed_s=elapsed, concurrency=count)
