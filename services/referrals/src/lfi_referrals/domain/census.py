"""School census codes: national curriculum years and key stages, SEN provision and primary
need, exclusion types and the suspension cap.

Decisions where the programme's design is silent:

* Year 14 belongs to key stage 5: KS5 is the DfE's name for all post-16 study, and year 14 is
  its second or third year.
* A primary need is recorded exactly when the child has SEN (provision K or E), as in the school
  census: none with N, one required with K or E, and NSA (no specialist assessment) only with K.
* Suspensions and lunchtime suspensions count towards the yearly cap with the school days the
  caller records on them (DfE counts a lunchtime suspension as half a school day); lengths are in
  half days because the census counts sessions. A permanent exclusion has no length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from lfi_referrals.domain.errors import Fault, InvalidIdentifier, InvalidReferral

# ------------------------------------------------------------------ years and key stages


class NcYear(StrEnum):
    """National curriculum year group, as the school census writes it."""

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


class KeyStage(StrEnum):
    EYFS = "EYFS"
    KS1 = "KS1"
    KS2 = "KS2"
    KS3 = "KS3"
    KS4 = "KS4"
    KS5 = "KS5"


_KEY_STAGE_OF: dict[NcYear, KeyStage] = {
    NcYear.N1: KeyStage.EYFS, NcYear.N2: KeyStage.EYFS, NcYear.R: KeyStage.EYFS,
    NcYear.Y1: KeyStage.KS1, NcYear.Y2: KeyStage.KS1,
    NcYear.Y3: KeyStage.KS2, NcYear.Y4: KeyStage.KS2, NcYear.Y5: KeyStage.KS2,
    NcYear.Y6: KeyStage.KS2,
    NcYear.Y7: KeyStage.KS3, NcYear.Y8: KeyStage.KS3, NcYear.Y9: KeyStage.KS3,
    NcYear.Y10: KeyStage.KS4, NcYear.Y11: KeyStage.KS4,
    NcYear.Y12: KeyStage.KS5, NcYear.Y13: KeyStage.KS5, NcYear.Y14: KeyStage.KS5,
}


def key_stage(year: NcYear) -> KeyStage:
    """The key stage of a national curriculum year (N1, N2 and R are EYFS; 14 is KS5)."""
    return _KEY_STAGE_OF[year]


_NC_YEAR_FAULT = Fault("nc_year", "The year group must be N1, N2, R or 1 to 14.")


def _coerce_year(value: object) -> object:
    # Callers send 7 as often as "7"; " r " as often as "R".
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip().upper()
    return value


def is_valid_nc_year(value: str | int) -> bool:
    """Whether ``value`` names a national curriculum year (``"N1"``, ``"R"``, ``7``, ``"14"``…)."""
    return _coerce_year(value) in {year.value for year in NcYear}


def parse_nc_year(value: str | int, *, field: str = "body.child.year_group") -> NcYear:
    """The national curriculum year ``value`` names, accepting integers and any case.

    Raises:
        InvalidIdentifier: naming ``field`` if ``value`` is not N1, N2, R or 1 to 14.
    """
    if not is_valid_nc_year(value):
        raise InvalidIdentifier(_NC_YEAR_FAULT.message, errors=[_NC_YEAR_FAULT.at(field)])
    return NcYear(str(_coerce_year(value)))


NationalCurriculumYear = Annotated[
    NcYear,
    Field(description='National curriculum year, as the census writes it: "N1", "N2", "R" or '
                      '"1" to "14" (strings).'),
]
"""A national curriculum year for the API schemas: exactly the census strings, as its JSON
Schema says (use :func:`parse_nc_year` to read looser input such as ``7`` or ``" r "``)."""

# ----------------------------------------------------------------------------------- SEN


class SenProvision(StrEnum):
    """SEN provision as the school census records it."""

    NO_SEN = "N"
    SEN_SUPPORT = "K"
    EHC_PLAN = "E"


class SenPrimaryNeed(StrEnum):
    """Type of SEN need (school census codes)."""

    SPLD = "SPLD"  # specific learning difficulty
    MLD = "MLD"  # moderate learning difficulty
    SLD = "SLD"  # severe learning difficulty
    PMLD = "PMLD"  # profound and multiple learning difficulty
    SEMH = "SEMH"  # social, emotional and mental health
    SLCN = "SLCN"  # speech, language and communication needs
    HI = "HI"  # hearing impairment
    VI = "VI"  # visual impairment
    MSI = "MSI"  # multi-sensory impairment
    PD = "PD"  # physical disability
    ASD = "ASD"  # autistic spectrum disorder
    OTH = "OTH"  # other difficulty or disability
    NSA = "NSA"  # SEN support but no specialist assessment of type of need


_NEED_WITHOUT_SEN = Fault(
    "primary_need_without_sen",
    "A primary need is recorded only for a child with SEN (provision K or E).")
_NEED_MISSING = Fault("primary_need_missing",
                      "A child with SEN (provision K or E) needs a primary need.")
_NSA_NOT_SEN_SUPPORT = Fault("primary_need_nsa",
                             "NSA (no specialist assessment) is allowed only with SEN support (K).")


def sen_need_fault(provision: SenProvision, need: SenPrimaryNeed | None) -> Fault | None:
    """What is wrong with recording ``need`` as the primary need of a child with ``provision``,
    or ``None`` if the pair is allowed."""
    if provision is SenProvision.NO_SEN:
        return None if need is None else _NEED_WITHOUT_SEN
    if need is None:
        return _NEED_MISSING
    if need is SenPrimaryNeed.NSA and provision is not SenProvision.SEN_SUPPORT:
        return _NSA_NOT_SEN_SUPPORT
    return None


def is_valid_sen_need(provision: SenProvision, need: SenPrimaryNeed | None) -> bool:
    """Whether a child with ``provision`` may have ``need`` as their primary need."""
    return sen_need_fault(provision, need) is None


# ---------------------------------------------------------------------------- exclusions


class ExclusionType(StrEnum):
    """Exclusion category as the school census records it."""

    SUSPENSION = "SUSP"
    PERMANENT = "PERM"
    LUNCHTIME = "LNCH"


_CAPPED = frozenset({ExclusionType.SUSPENSION, ExclusionType.LUNCHTIME})
_HALF = Decimal("0.5")


@dataclass(frozen=True, slots=True, kw_only=True)
class Exclusion:
    """One exclusion of a child; ``school_days`` is the length of a (lunchtime) suspension."""

    kind: ExclusionType
    school_days: Decimal | None


def exclusion_fault(exclusion: Exclusion) -> Fault | None:
    """What is wrong with ``exclusion``'s length, or ``None``: a suspension or lunchtime
    suspension lasts a positive number of half days; a permanent exclusion has no length."""
    days = exclusion.school_days
    if exclusion.kind not in _CAPPED:
        return None if days is None else Fault(
            "exclusion_length", "A permanent exclusion has no length in school days.")
    if days is None or not days.is_finite() or days <= 0 or days % _HALF != 0:
        return Fault("exclusion_length",
                     "A suspension lasts a positive number of school days, in half days.")
    return None


def suspended_school_days(exclusions: Iterable[Exclusion]) -> Decimal:
    """School days of suspension (including lunchtime suspensions) in ``exclusions``."""
    return sum((e.school_days or Decimal(0) for e in exclusions if e.kind in _CAPPED),
               start=Decimal(0))


def check_exclusions(exclusions: Iterable[Exclusion], *, cap_school_days: int,
                     field: str = "body.exclusions") -> None:
    """Check one school year's exclusions of one child: each well formed, and suspensions
    together within ``cap_school_days`` (45 under DfE guidance; passed in as configuration).

    Raises:
        InvalidReferral: listing each malformed exclusion (``field[i].school_days``) and, when
            the total is over the cap, ``field`` with code ``suspension_cap``.
    """
    listed = list(exclusions)
    errors = [fault.at(f"{field}[{i}].school_days")
              for i, e in enumerate(listed) if (fault := exclusion_fault(e)) is not None]
    if not errors and suspended_school_days(listed) > cap_school_days:
        errors.append(Fault(
            "suspension_cap",
            f"Suspensions in one school year may total at most {cap_school_days} school days.",
        ).at(field))
    if errors:
        raise InvalidReferral("The exclusions are not valid.", errors=errors)
