"""Pieces the scenarios share: a scenario's declaration, figures from a load report, probes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from lfi_bench.context import BenchContext, NotMeasured
from lfi_bench.load.generator import LoadReport, LoadSpec, run
from lfi_bench.results import Figure, Result, equal, info


@dataclass(frozen=True)
class Scenario:
    """A named measurement; ``needs`` are scenarios whose figures its targets are built on."""

    name: str
    title: str
    run: Callable[[BenchContext], Awaitable[Result]]
    needs: tuple[str, ...] = ()


def rate_name(label: str) -> str:
    return f"{label} requests/s" if label else "requests/s"


def latency_figures(report: LoadReport, label: str = "") -> list[Figure]:
    """p50, p95 and p99 (context, no target) of one kind of request or of all together."""
    stats = report.by_label.get(label) if label else report.overall
    if stats is None or stats.latency is None:
        return []
    prefix = f"{label} " if label else ""
    return [
        info(f"{prefix}p50", stats.latency.p50_ms, "ms"),
        info(f"{prefix}p95", stats.latency.p95_ms, "ms"),
        info(f"{prefix}p99", stats.latency.p99_ms, "ms"),
    ]


def error_figure(report: LoadReport, label: str = "") -> Figure:
    """The error count, which must be zero for the rate beside it to mean anything."""
    stats = report.by_label.get(label) if label else report.overall
    errors = stats.errors if stats is not None else 0
    prefix = f"{label} " if label else ""
    return equal(f"{prefix}errors", float(errors), "", 0)


def load_details(report: LoadReport, spec: LoadSpec) -> dict[str, Any]:
    """What goes to the JSON beside the figures: the whole report and how it was run."""
    return {
        "load": report.to_json(),
        "concurrency": spec.concurrency,
        "duration_s": spec.duration_s,
        "warmup_s": spec.warmup_s,
    }


async def probe_operation(spec: LoadSpec, what: str) -> None:
    """Run the operation once in this process, before the load.

    Raises:
        NotMeasured: the operation did not complete (the reason quotes the responses it got).
    """
    once = LoadSpec(base_url=spec.base_url, operation=spec.operation, params=spec.params,
                    mode="burst", count=1, headers=spec.headers, timeout_s=spec.timeout_s)
    report = await run(once)
    if report.operations_ok != 1:
        samples = "; ".join(report.error_samples) or "no response"
        raise NotMeasured(f"{what} failed on a first try: {samples}")
