"""The council's financial year: labelled ``"2025-26"``, running 1 April to 31 March."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from lfi_funding.domain.errors import field_error, invalid

__all__ = ["FinancialYear"]

# The UK local-government financial year (DESIGN.md §1); named here, not scattered in logic.
FINANCIAL_YEAR_START_MONTH = 4
FINANCIAL_YEAR_START_DAY = 1

_LABEL = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(frozen=True, slots=True, order=True)
class FinancialYear:
    """A financial year, identified by the calendar year it starts in."""

    start_year: int

    def __post_init__(self) -> None:
        if isinstance(self.start_year, bool) or not isinstance(self.start_year, int) \
                or not 1000 <= self.start_year <= 9998:
            raise invalid([field_error("financial_year", "must start in a four-digit year",
                                       "financial_year_format")])

    @classmethod
    def parse(cls, label: object, *, field: str = "financial_year") -> FinancialYear:
        """``"2025-26"`` → the year starting 1 April 2025.

        Raises :class:`~lfi_funding.domain.errors.InvalidFundingInput` (code
        ``financial_year_format``) unless the label is ``YYYY-YY`` with ``YY`` the next year.
        """
        match = _LABEL.fullmatch(label) if isinstance(label, str) else None
        if match is None or int(match.group(2)) != (int(match.group(1)) + 1) % 100:
            shown = label[:20] if isinstance(label, str) else type(label).__name__
            raise invalid([field_error(
                field, f'"{shown}" is not a financial year like "2025-26"',
                "financial_year_format")])
        return cls(int(match.group(1)))

    @classmethod
    def containing(cls, day: date) -> FinancialYear:
        """The financial year that ``day`` falls in."""
        starts_this_year = (day.month, day.day) >= (FINANCIAL_YEAR_START_MONTH,
                                                    FINANCIAL_YEAR_START_DAY)
        return cls(day.year if starts_this_year else day.year - 1)

    @property
    def label(self) -> str:
        """``"2025-26"``."""
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    @property
    def starts_on(self) -> date:
        """1 April of the start year."""
        return date(self.start_year, FINANCIAL_YEAR_START_MONTH, FINANCIAL_YEAR_START_DAY)

    @property
    def ends_on(self) -> date:
        """The day before the next financial year starts (31 March)."""
        next_start = date(self.start_year + 1, FINANCIAL_YEAR_START_MONTH, FINANCIAL_YEAR_START_DAY)
        return next_start - timedelta(days=1)

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls in this financial year."""
        return self.starts_on <= day <= self.ends_on

    def next(self) -> FinancialYear:
        """The following financial year."""
        return FinancialYear(self.start_year + 1)

    def __str__(self) -> str:
        return self.label
