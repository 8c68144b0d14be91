"""Identifiers and codes the placements domain uses (DfE and school census conventions).

No child personal data lives in this service: a child is only ever an opaque ``child_id``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import StringConstraints

URN = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
"""A school's unique reference number: six digits."""

ZoneId = UUID
"""A school and community zone, as known from the referrals service's zone events."""


class YearGroup(StrEnum):
    """National curriculum year: nursery 1 and 2, reception, years 1 to 14."""

    N1 = "N1"
    N2 = "N2"
    R = "R"
    Y1 = "1"
    Y2 = "2"
    Y3 = "3"
    Y4 = "4"
    Y5 = "5"
    Y6 = "6"
    Y7 = "7"
    Y8 = "8"
    Y9 = "9"
    Y10 = "10"
    Y11 = "11"
    Y12 = "12"
    Y13 = "13"
    Y14 = "14"


class PrimaryNeed(StrEnum):
    """SEN primary need, as coded in the school census."""

    SPLD = "SPLD"
    MLD = "MLD"
    SLD = "SLD"
    PMLD = "PMLD"
    SEMH = "SEMH"
    SLCN = "SLCN"
    HI = "HI"
    VI = "VI"
    MSI = "MSI"
    PD = "PD"
    ASD = "ASD"
    OTH = "OTH"
    NSA = "NSA"
