"""What a scenario reports: its figures, each beside its target, and why it could not run.

A :class:`Result` is either measured (its :class:`Figure` rows), not measured (the reason: the
endpoint does not exist yet, say) or an error (the scenario broke; the reason says how). A
figure that misses its target is kept and marked missed, never dropped; nothing is invented
for a scenario that did not run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    MEASURED = "measured"
    NOT_MEASURED = "not_measured"
    ERROR = "error"


@dataclass(frozen=True)
class Figure:
    """One measured figure, and the target it is held to (if it has one).

    ``met`` is ``None`` when the figure has no target, or when its target depends on a figure
    this run did not measure (``target`` then says so).
    """

    name: str
    value: float
    unit: str
    target: str | None = None
    met: bool | None = None
    reference: str | None = None

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "—"
        return "met" if self.met else "MISSED"


@dataclass
class Result:
    """The outcome of one scenario."""

    scenario: str
    title: str
    status: Status
    figures: list[Figure] = field(default_factory=list)
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @classmethod
    def measured(cls, scenario: str, title: str, figures: list[Figure],
                 details: dict[str, Any] | None = None) -> Result:
        return cls(scenario, title, Status.MEASURED, figures, details=details or {})

    @classmethod
    def not_measured(cls, scenario: str, title: str, reason: str,
                     details: dict[str, Any] | None = None) -> Result:
        return cls(scenario, title, Status.NOT_MEASURED, reason=reason, details=details or {})

    @classmethod
    def error(cls, scenario: str, title: str, reason: str,
              details: dict[str, Any] | None = None) -> Result:
        return cls(scenario, title, Status.ERROR, reason=reason, details=details or {})

    @property
    def missed(self) -> list[Figure]:
        return [f for f in self.figures if f.met is False]

    def figure(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        for row, figure in zip(data["figures"], self.figures, strict=True):
            row["verdict"] = figure.verdict
        return data


# -- targets ---------------------------------------------------------------------------------


def at_least(name: str, value: float, unit: str, limit: float, *, why: str = "",
             reference: str | None = None) -> Figure:
    """A figure that must be ``>= limit``."""
    target = f"≥ {format_number(limit)} {unit}" + (f" ({why})" if why else "")
    return Figure(name, value, unit, target, value >= limit, reference)


def below(name: str, value: float, unit: str, limit: float, *,
          reference: str | None = None) -> Figure:
    """A figure that must be ``< limit``."""
    return Figure(name, value, unit, f"< {format_number(limit)} {unit}", value < limit, reference)


def equal(name: str, value: float, unit: str, expected: float) -> Figure:
    """A figure that must be exactly ``expected`` (a count that proves correctness)."""
    return Figure(name, value, unit, f"= {format_number(expected)} {unit}".rstrip(), value == expected)


def share_of(name: str, value: float, unit: str, *, share: float, base: Figure | None,
             base_label: str) -> Figure:
    """A figure that must be at least ``share`` of another scenario's figure ``base``.

    Without ``base`` (not measured in this run) the figure is kept with no verdict.
    """
    percent = f"{share:.0%}"
    if base is None or base.value <= 0:
        return Figure(name, value, unit, f"≥ {percent} of {base_label} (not measured: no verdict)",
                      None, None)
    limit = share * base.value
    ratio = value / base.value
    return Figure(
        name, value, unit,
        f"≥ {percent} of {base_label} (≥ {format_number(limit)} {unit})",
        value >= limit,
        f"{base_label} {format_number(base.value)} {unit}; this is {ratio:.0%} of it",
    )


def info(name: str, value: float, unit: str, reference: str | None = None) -> Figure:
    """A figure reported for context, with no target."""
    return Figure(name, value, unit, None, None, reference)


def format_number(value: float) -> str:
    """How the report prints a number: whole numbers with separators, others to 3 digits."""
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
