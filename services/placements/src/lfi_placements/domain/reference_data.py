"""Seed reference data of the placements domain, from the programme's published facts.

These are data, loaded into the database by the service's seed and edited there afterwards;
the domain's logic never reads them directly. Later years' term dates are entered by the
placements officer (academies may set their own dates).
"""

from __future__ import annotations

from datetime import date

from lfi_placements.domain.calendar import Term, TermName
from lfi_placements.domain.provision import ProvisionType
from lfi_placements.domain.vocabulary import ProvisionKind


def seed_terms() -> tuple[Term, ...]:
    """Norfolk County Council's 2025/26 term dates."""
    return (
        Term(academic_year="2025/26", name=TermName.AUTUMN,
             start=date(2025, 9, 3), end=date(2025, 12, 19)),
        Term(academic_year="2025/26", name=TermName.SPRING,
             start=date(2026, 1, 6), end=date(2026, 3, 27)),
        Term(academic_year="2025/26", name=TermName.SUMMER,
             start=date(2026, 4, 15), end=date(2026, 7, 17)),
    )


def seed_provision_types() -> tuple[ProvisionType, ...]:
    """Early Intervention Bases (stay up to one term; 9 bases, 90 places) and Alternative
    Provision Centres (stay up to three terms; King's Lynn Academy and nine more, 224 places).
    """
    return (
        ProvisionType(code=ProvisionKind.EIB, name="Early Intervention Base",
                      max_stay_terms=1, programme_provisions=9, programme_places=90),
        ProvisionType(code=ProvisionKind.APC, name="Alternative Provision Centre",
                      max_stay_terms=3, programme_provisions=10, programme_places=224),
    )
