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


README_BEGIN = "<!-- bench:begin (python -m lfi_bench --readme) -->"
README_END = "<!-- bench:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|") if text else ""


def render_markdown(report: dict[str, Any]) -> str:
    """A JSON report (:func:`document`) as the README's Markdown: when, where, then the table.

    Only scenarios with a target or a reference figure are listed row by row; a missed target
    stays in the table with its figure, as **missed**.
    """
    machine = report.get("machine") or {}
    settings = report.get("settings") or {}
    load = machine.get("load_average_at_start")
    lines = [
        f"Measured {report.get('started_at', '?')} on {one_line(machine)}"
        f" ({machine.get('os', '?')}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in load) if load else '?'}), "
        f"{format_number(float(settings.get('duration_s', 0)))} s per load scenario, "
        f"{settings.get('concurrency', '?')} connections.",
        "",
        "| scenario | figure | value | target | verdict | reference |",
        "|---|---|---|---|---|---|",
    ]
    for result in report.get("results", []):
        name = result.get("scenario", "?")
        if result.get("status") != Status.MEASURED.value:
            reason = (result.get("reason") or "").strip().splitlines()
            lines.append(f"| {name} | {result.get('status')}: {_cell(reason[0] if reason else '')}"
                         " | | | | |")
            continue
        shown = False
        for figure in result.get("figures", []):
            if figure.get("target") is None and name != "reference":
                continue
            value = f"{format_number(figure['value'])} {figure.get('unit', '')}".strip()
            verdict = figure.get("verdict") or "—"
            if verdict == "MISSED":
                verdict = "**missed**"
            lines.append(f"| {'' if shown else name} | {_cell(figure['name'])} | {_cell(value)} | "
                         f"{_cell(figure.get('target') or '—')} | {verdict} | "
                         f"{_cell(figure.get('reference') or '')} |")
            shown = True
    missed = report.get("summary", {}).get("missed", [])
    lines.append("")
    lines.append(f"Targets missed: {len(missed)}"
                 + (" (" + "; ".join(f"{m['scenario']}: {m['figure']}" for m in missed) + ")."
                    if missed else "."))
    return "\n".join(lines)


def replace_readme_block(readme: str, block: str) -> str:
    """``readme`` with the text between the bench markers replaced by ``block``."""
    begin = readme.find(README_BEGIN)
    end = readme.find(README_END)
    if begin < 0 or end < begin:
        raise ValueError(f"the README has no {README_BEGIN} … {README_END} block")
    return readme[:begin + len(README_BEGIN)] + "\n" + block + "\n" + readme[end:]
