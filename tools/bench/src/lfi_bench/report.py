"""The report: a table on the terminal and a JSON document, every figure beside its target.

A missed target is printed ``MISSED`` with its figure; a scenario that did not run says
``not measured:`` and why, with no figure at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lfi_bench.machine import one_line
from lfi_bench.results import Result, Status, format_number

HEADERS = ("scenario", "figure", "value", "target", "verdict", "reference")
MAX_REASON = 160


def table_rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    """One row per figure; one row for a scenario without figures (not measured, error)."""
    rows: list[tuple[str, ...]] = []
    for result in results:
        if result.status is not Status.MEASURED:
            label = "not measured" if result.status is Status.NOT_MEASURED else "ERROR"
            reason = (result.reason or "").strip().splitlines()
            first = reason[0] if reason else ""
            if len(first) > MAX_REASON:
                first = first[:MAX_REASON - 1] + "…"
            rows.append((result.scenario, f"{label}: {first}", "", "", "", ""))
            continue
        for figure in result.figures:
            value = f"{format_number(figure.value)} {figure.unit}".strip()
            rows.append((result.scenario, figure.name, value, figure.target or "—",
                         figure.verdict, figure.reference or ""))
    return rows


def render_table(results: Sequence[Result], machine: dict[str, Any] | None = None) -> str:
    """The report as aligned text columns (the not-measured reason spans the row)."""
    rows = table_rows(results)
    widths = [len(h) for h in HEADERS]
    for row in rows:
        if row[2:] == ("", "", "", ""):  # a reason: spans the row, does not widen columns
            widths[0] = max(widths[0], len(row[0]))
            continue
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines: list[str] = []
    if machine:
        lines.append(f"machine: {one_line(machine)}")
    lines.append("  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    previous = None
    for row in rows:
        name = row[0] if row[0] != previous else ""
        previous = row[0]
        if row[2:] == ("", "", "", ""):
            lines.append(f"{name.ljust(widths[0])}  {row[1]}".rstrip())
            continue
        cells = (name, *row[1:])
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    missed = [f"{r.scenario}: {f.name}" for r in results for f in r.missed]
    not_run = [r.scenario for r in results if r.status is not Status.MEASURED]
    lines.append("")
    lines.append(f"targets missed: {len(missed)}" + (f" ({'; '.join(missed)})" if missed else ""))
    if not_run:
        lines.append(f"not measured or broken: {', '.join(not_run)}")
    return "\n".join(lines)


def document(results: Sequence[Result], *, machine: dict[str, Any],
             settings: dict[str, Any], started_at: str, finished_at: str) -> dict[str, Any]:
    """The JSON report."""
    return {
        "format": "lfi-bench/1",
        "started_at": started_at,
        "finished_at": finished_at,
        "machine": machine,
        "settings": settings,
        "summary": {
            "missed": [{"scenario": r.scenario, "figure": f.name, "value": f.value,
                        "target": f.target} for r in results for f in r.missed],
            "not_measured": {r.scenario: r.reason for r in results
                             if r.status is Status.NOT_MEASURED},
            "errors": {r.scenario: r.reason for r in results if r.status is Status.ERROR},
        },
        "results": [r.to_json() for r in results],
    }


def write_json(data: dict[str, Any], paths: Sequence[Path]) -> None:
    text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
