"""Scenario 7: the Element 3 formula allocation for 420 and for 25,000 schools.

Calls the funding service's pure :func:`lfi_funding.domain.allocation.allocate` with the
seeded 2025-26 formula and generated school inputs (fixed random seed, so every run allocates
the same inputs). Each size runs several times after one warm-up; the target is held to the
median, and the best is shown beside it.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from lfi_bench.context import BenchContext, NotMeasured
from lfi_bench.results import Figure, Result, below
from lfi_bench.scenarios.common import Scenario

NAME = "formula_allocation"
TITLE = "Element 3 formula allocation (funding domain, in process)"
BLOCK_PENCE = 930_000_000  # £9.3m: the seeded 2025-26 formula block
SIZES: tuple[tuple[int, float, int], ...] = (
    # schools, target (ms), runs
    (420, 50.0, 15),
    (25_000, 1000.0, 7),
)
SEED = 20250901


def school_inputs(count: int, measure_codes: tuple[str, ...], seed: int = SEED) -> list[Any]:
    """``count`` plausible schools: 30 to 2,000 on roll, each measure a share of the roll."""
    from lfi_funding.domain.allocation import SchoolFormulaInput

    rng = random.Random(seed)
    schools = []
    for index in range(count):
        roll = rng.randint(30, 2000)
        measures = {code: rng.randint(0, roll // 3) for code in measure_codes}
        schools.append(SchoolFormulaInput(urn=f"{100000 + index:06d}", pupils_on_roll=roll,
                                          measures=measures))
    return schools


def time_allocation(count: int, runs: int) -> list[float]:
    """Seconds of each of ``runs`` allocations of ``count`` schools (after one warm-up).

    Raises:
        NotMeasured: the funding domain has no ``allocate`` or seeded formula.
    """
    try:
        from lfi_funding.domain.allocation import allocate
        from lfi_funding.domain.seed_data import FORMULA_2025_26
    except ImportError as exc:
        raise NotMeasured(f"lfi_funding has no allocation to call: {exc}") from exc
    inputs = school_inputs(count, FORMULA_2025_26.measure_codes)
    result = allocate(BLOCK_PENCE, FORMULA_2025_26, inputs)
    if sum(a.amount_pence for a in result.allocations) != BLOCK_PENCE:
        raise RuntimeError("the allocations do not sum to the block")
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        allocate(BLOCK_PENCE, FORMULA_2025_26, inputs)
        timings.append(time.perf_counter() - began)
    return timings


async def run(ctx: BenchContext) -> Result:
    del ctx
    figures: list[Figure] = []
    details: dict[str, Any] = {"block_pence": BLOCK_PENCE, "seed": SEED}
    for count, target_ms, runs in SIZES:
        # In this process and on this thread: CPU-bound work the event loop need not share.
        timings = time_allocation(count, runs)
        median_ms = statistics.median(timings) * 1000
        best_ms = min(timings) * 1000
        figures.append(below(f"{count:,} schools median", median_ms, "ms", target_ms,
                             reference=f"best {best_ms:.1f} ms of {runs}"))
        details[f"{count}_schools_ms"] = [round(t * 1000, 3) for t in timings]
    return Result.measured(NAME, TITLE, figures, details)


SCENARIO = Scenario(NAME, TITLE, run)
