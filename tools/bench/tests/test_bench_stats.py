"""The load generator's statistics, on latencies whose answers are known."""

from __future__ import annotations

import pytest

from lfi_bench.load.generator import summarise
from lfi_bench.load.http import Recorder
from lfi_bench.load.stats import LatencyStats, LoadStats, percentile


def test_percentiles_by_nearest_rank_on_one_to_a_hundred() -> None:
    values = [float(v) for v in range(1, 101)]

    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100


def test_percentile_of_a_short_list_is_an_observed_value() -> None:
    assert percentile([10.0, 20.0, 30.0], 50) == 20.0
    assert percentile([10.0, 20.0, 30.0], 99) == 30.0
    assert percentile([7.0], 95) == 7.0


def test_percentile_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


def test_latency_stats_in_milliseconds_whatever_the_order() -> None:
    seconds = [(101 - v) / 1000 for v in range(1, 101)]  # 100 ms … 1 ms, reversed

    stats = LatencyStats.from_seconds(seconds)

    assert stats is not None
    assert stats.count == 100
    assert stats.p50_ms == pytest.approx(50.0)
    assert stats.p95_ms == pytest.approx(95.0)
    assert stats.p99_ms == pytest.approx(99.0)
    assert stats.max_ms == pytest.approx(100.0)
    assert stats.min_ms == pytest.approx(1.0)
    assert stats.mean_ms == pytest.approx(50.5)


def test_no_latencies_give_no_statistics() -> None:
    assert LatencyStats.from_seconds([]) is None


def test_rate_counts_successes_only() -> None:
    stats = LoadStats.from_samples([0.01] * 300, errors=700, window_s=10.0)

    assert stats.rate == pytest.approx(30.0)
    assert stats.errors == 700


def test_warm_up_requests_are_not_recorded() -> None:
    recorder = Recorder(measure_from=100.0)
    recorder.success("insert", started=99.5, ended=100.2)  # began in the warm-up
    recorder.failure("insert", started=99.9, reason="HTTP 500")
    recorder.success("insert", started=100.1, ended=100.15)
    recorder.failure("insert", started=100.2, reason="HTTP 503", sample="busy")

    report = summarise(recorder, window_s=2.0, elapsed_s=3.0, concurrency=1)

    assert report.overall.ok == 1
    assert report.overall.errors == 1
    assert report.overall.latency is not None
    assert report.overall.latency.p50_ms == pytest.approx(50.0)
    assert report.error_reasons == {"insert: HTTP 503": 1}
    assert report.error_samples == ["insert: HTTP 503 busy"]


def test_report_keeps_each_kind_of_request_apart() -> None:
    recorder = Recorder(measure_from=0.0)
    for i in range(10):
        recorder.success("create", started=float(i), ended=i + 0.002)
        recorder.success("submit", started=float(i), ended=i + 0.004)
    recorder.operation(started=1.0, completed=True)

    report = summarise(recorder, window_s=5.0, elapsed_s=5.0, concurrency=2)

    assert report.by_label["create"].ok == 10
    assert report.by_label["submit"].latency is not None
    assert report.by_label["submit"].latency.p50_ms == pytest.approx(4.0)
    assert report.overall.rate == pytest.approx(4.0)  # 20 requests in 5 s
    assert report.operations_per_s == pytest.approx(0.2)
