"""The report never hides a missed target, and shows no figure for what was not measured."""

from __future__ import annotations

import json
from pathlib import Path

from lfi_bench.report import document, render_table, write_json
from lfi_bench.results import Figure, Result, at_least, below, info, share_of


def _results() -> list[Result]:
    reference = Result.measured("reference", "Reference", [
        info("insert requests/s", 1000.0, "req/s"),
    ])
    submit = Result.measured("referral_submit", "Submit", [
        share_of("requests/s", 412.5, "req/s", share=0.70,
                 base=reference.figure("insert requests/s"), base_label="reference insert"),
        below("p99", 12.0, "ms", 25.0),
    ])
    placements = Result.not_measured("placement_burst", "Burst",
                                     "the placements service has no POST /v1/placements/requests")
    return [reference, submit, placements]


def test_a_missed_target_is_marked_missed_with_its_figure() -> None:
    results = _results()

    table = render_table(results)

    row = next(line for line in table.splitlines() if "requests/s" in line and "412" in line)
    assert "MISSED" in row
    assert "≥ 70% of reference insert (≥ 700 req/s)" in row
    assert "41% of it" in row
    assert "targets missed: 1 (referral_submit: requests/s)" in table


def test_a_met_target_is_marked_met() -> None:
    table = render_table(_results())

    row = next(line for line in table.splitlines() if "p99" in line)
    assert " met " in f"{row} "
    assert "MISSED" not in row


def test_not_measured_shows_the_reason_and_no_figure() -> None:
    results = _results()

    table = render_table(results)
    data = document(results, machine={"cpu_model": "test"}, settings={},
                    started_at="s", finished_at="f")

    line = next(line for line in table.splitlines() if line.startswith("placement_burst"))
    assert "not measured: the placements service has no POST /v1/placements/requests" in line
    burst = next(r for r in data["results"] if r["scenario"] == "placement_burst")
    assert burst["status"] == "not_measured"
    assert burst["figures"] == []
    assert data["summary"]["not_measured"] == {
        "placement_burst": "the placements service has no POST /v1/placements/requests"}


def test_json_keeps_the_missed_figure_and_its_verdict(tmp_path: Path) -> None:
    results = _results()
    out = tmp_path / "nested" / "latest.json"

    write_json(document(results, machine={}, settings={"duration_s": 1.0},
                        started_at="s", finished_at="f"), [out])

    data = json.loads(out.read_text())
    submit = next(r for r in data["results"] if r["scenario"] == "referral_submit")
    rate = next(f for f in submit["figures"] if f["name"] == "requests/s")
    assert rate["value"] == 412.5
    assert rate["met"] is False
    assert rate["verdict"] == "MISSED"
    assert data["summary"]["missed"] == [{
        "scenario": "referral_submit", "figure": "requests/s", "value": 412.5,
        "target": rate["target"]}]


def test_a_share_of_an_unmeasured_figure_has_no_verdict() -> None:
    figure = share_of("requests/s", 300.0, "req/s", share=0.6, base=None,
                      base_label="direct (referral_submit)")

    assert figure.met is None
    assert figure.verdict == "—"
    assert figure.target is not None and "not measured" in figure.target


def test_targets_compare_the_right_way() -> None:
    assert at_least("events/s", 4999.0, "events/s", 5000.0).met is False
    assert at_least("events/s", 5000.0, "events/s", 5000.0).met is True
    assert below("p50", 5.0, "ms", 5.0).met is False
    assert Figure("x", 1.0, "").verdict == "—"


def test_the_readme_table_keeps_a_missed_target_and_names_the_machine() -> None:
    from lfi_bench.report import README_BEGIN, README_END, render_markdown, replace_readme_block

    data = document(_results(), machine={"cpu_model": "Test CPU", "cores": 2, "memory_gib": 4.0,
                                         "python": "3.11.7", "os": "Linux 6",
                                         "load_average_at_start": [0.5, 0.25, 0.1]},
                    settings={"duration_s": 10.0, "concurrency": 16},
                    started_at="2026-11-28T04:00:00+00:00", finished_at="x")
    data = json.loads(json.dumps(data, default=str))

    block = render_markdown(data)

    assert "Measured 2026-11-28T04:00:00+00:00 on Test CPU, 2 cores, 4.0 GiB" in block
    assert "load average at start 0.50, 0.25, 0.10" in block
    row = next(line for line in block.splitlines() if "412" in line)
    assert "**missed**" in row and "≥ 70% of reference insert" in row
    assert "| placement_burst | not_measured: the placements service has no" in block
    assert "Targets missed: 1 (referral_submit: requests/s)." in block

    readme = f"# Title\n\nbefore\n{README_BEGIN}\nold table\n{README_END}\nafter\n"
    rewritten = replace_readme_block(readme, block)
    assert "old table" not in rewritten
    assert rewritten.startswith("# Title\n\nbefore\n") and rewritten.endswith(f"{README_END}\nafter\n")
    assert replace_readme_block(rewritten, block) == rewritten
