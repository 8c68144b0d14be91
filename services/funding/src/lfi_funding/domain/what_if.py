"""What-if comparisons of two formula allocations (e.g. published weights against proposed ones)."""

from __future__ import annotations

from dataclasses import dataclass

from lfi_funding.domain.allocation import FormulaResult

__all__ = ["AllocationChange", "compare_allocations"]


@dataclass(frozen=True, slots=True)
class AllocationChange:
    """One school's allocation under the baseline and under the scenario (0 where absent)."""

    urn: str
    baseline_pence: int
    scenario_pence: int

    @property
    def change_pence(self) -> int:
        return self.scenario_pence - self.baseline_pence


def compare_allocations(baseline: FormulaResult,
                        scenario: FormulaResult) -> tuple[AllocationChange, ...]:
    """Every school of either result, in the baseline's order then the scenario's new schools.

    Pure: neither result is stored or published.
    """
    before = {a.urn: a.amount_pence for a in baseline.allocations}
    after = {a.urn: a.amount_pence for a in scenario.allocations}
    urns = list(before) + [urn for urn in after if urn not in before]
    return tuple(AllocationChange(urn, before.get(urn, 0), after.get(urn, 0)) for urn in urns)
