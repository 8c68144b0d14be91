"""Officers' changes to provisions (capacity, dates, status) and to the academic calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_placements.db import repositories as repo
from lfi_placements.db.models import AcademicTerm, ProvisionRow
from lfi_placements.domain.calendar import AcademicCalendar, Term, long_date
from lfi_placements.domain.identifiers import YearGroup
from lfi_placements.domain.vocabulary import ProvisionStatus
from lfi_placements.service.context import UseCaseContext
from lfi_placements.service.placing import fill_free_places
from lfi_placements.service.publishing import publish_capacity_changed
from lfi_shared.http.problems import Conflict


@dataclass(frozen=True)
class ProvisionChanges:
    """What an officer asked to change; ``None`` leaves a field as it is."""

    name: str | None = None
    capacity: int | None = None
    opening_date: date | None = None
    year_groups: frozenset[YearGroup] | None = None
    status: ProvisionStatus | None = None
    closed_on: date | None = None


async def update_provision(session: AsyncSession, ctx: UseCaseContext, row: ProvisionRow,
                           changes: ProvisionChanges) -> None:
    """Apply an officer's changes to a provision (locked by the caller). Raises
    CapacityBelowPlacesHeld, IllegalTransition, Conflict. New places (more capacity, an
    opening) are offered to waiting requests at once."""
    today = ctx.today()
    provision = repo.provision_of(row)
    held = await repo.holding_placements(session, [row.id])
    more_places = False
    if changes.capacity is not None and changes.capacity != provision.capacity:
        provision, event = provision.change_capacity(changes.capacity, placements=held,
                                                     today=today, at=ctx.now())
        await publish_capacity_changed(session, ctx, row, event)
        more_places = event.capacity > event.previous_capacity
    if changes.opening_date is not None and changes.opening_date != provision.opening_date:
        earliest = min((p.start_date for p in held), default=None)
        if earliest is not None and earliest < changes.opening_date:
            raise Conflict(
                f"{provision.name} cannot open on {long_date(changes.opening_date)}: a place "
                f"is held from {long_date(earliest)}. Move or withdraw that placement first.",
                extra={"held_from": earliest.isoformat()})
        more_places = more_places or changes.opening_date < provision.opening_date
        provision = provision.model_copy(update={"opening_date": changes.opening_date})
    if changes.status is ProvisionStatus.OPEN and provision.status is not ProvisionStatus.OPEN:
        provision = provision.mark_open(today)
        more_places = True
    elif (changes.status is ProvisionStatus.CLOSED
          and provision.status is not ProvisionStatus.CLOSED):
        provision = provision.close(changes.closed_on or today, placements=held)
    if changes.name is not None:
        provision = provision.model_copy(update={"name": changes.name})
    if changes.year_groups is not None:
        provision = provision.model_copy(update={"year_groups": changes.year_groups})
        more_places = True
    row.name = provision.name
    row.capacity = provision.capacity
    row.opening_date = provision.opening_date
    row.status = provision.status.value
    row.closed_on = provision.closed_on
    row.year_groups = sorted(y.value for y in provision.year_groups)
    row.version += 1
    row.updated_at = ctx.now()
    await session.flush()
    if more_places:
        await fill_free_places(session, ctx, row.id, today)


async def add_academic_year(session: AsyncSession, terms: list[Term]) -> AcademicCalendar:
    """Enter an academic year's terms. Raises CalendarInvalid (422, every fault by field) and
    Conflict when a term of that year is entered already."""
    existing = list((await session.execute(select(AcademicTerm))).scalars().all())
    taken = {(t.academic_year, t.name) for t in existing}
    clash = [t for t in terms if (t.academic_year, t.name.value) in taken]
    if clash:
        raise Conflict(f"The {clash[0].label} term is entered already; term dates entered are "
                       "not changed here.")
    # The new terms first, so that a fault is named at its index in the body (body.terms.N).
    calendar = AcademicCalendar([*terms, *(repo.term_of(t) for t in existing)])
    for term in terms:
        session.add(AcademicTerm(academic_year=term.academic_year, name=term.name.value,
                                 start_date=term.start, end_date=term.end))
    await session.flush()
    return calendar

