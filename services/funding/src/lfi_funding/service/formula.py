"""The formula block: versioned formulas, per-school inputs from CSV (all or nothing), what-if
previews that persist nothing, and publishing allocations as one versioned action.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts.funding import FormulaPublished
from lfi_funding.db.bulk import copy_records
from lfi_funding.db.models import (
    AllocationPublication,
    FormulaInputImport,
    FormulaVersion,
    SchoolAllocationRow,
    SchoolFormulaInputRow,
)
from lfi_funding.domain.allocation import (
    FormulaResult,
    SchoolAllocation,
    SchoolFormulaInput,
    allocate,
)
from lfi_funding.domain.budget import BudgetStatus
from lfi_funding.domain.errors import field_error, invalid
from lfi_funding.domain.financial_year import FinancialYear
from lfi_funding.domain.formula import Element3Formula, FactorBasis, FormulaFactor
from lfi_funding.domain.identifiers import urn_error
from lfi_funding.domain.money import pounds_str
from lfi_funding.domain.what_if import AllocationChange, compare_allocations
from lfi_funding.service import payments
from lfi_funding.service.budgets import load_budget
from lfi_funding.service.context import FundingContext
from lfi_shared.http.concurrency import check_if_match
from lfi_shared.http.problems import Conflict, FieldError, NotFound, PreconditionRequired

URN_COLUMN = "urn"
ROLL_COLUMN = "pupils_on_roll"


# -- formula versions ------------------------------------------------------------------------

def formula_from_row(row: FormulaVersion) -> Element3Formula:
    return Element3Formula(FinancialYear.parse(row.financial_year), row.version, tuple(
        FormulaFactor(f["code"], FactorBasis(f["basis"]), Decimal(f["weight"]), f["label"])
        for f in row.factors))


def factors_json(formula: Element3Formula) -> list[dict[str, Any]]:
    return [{"code": f.code, "basis": f.basis.value, "weight": str(f.weight), "label": f.label}
            for f in formula.factors]


async def find_formula(session: AsyncSession, year: FinancialYear,
                       version: int | None = None) -> FormulaVersion | None:
    stmt = select(FormulaVersion).where(FormulaVersion.financial_year == year.label)
    if version is None:
        stmt = stmt.order_by(FormulaVersion.version.desc()).limit(1)
    else:
        stmt = stmt.where(FormulaVersion.version == version)
    return (await session.execute(stmt)).scalar_one_or_none()


async def load_formula(session: AsyncSession, year: FinancialYear,
                       version: int | None = None) -> FormulaVersion:
    row = await find_formula(session, year, version)
    if row is None:
        raise NotFound(f"No formula is set for {year}" +
                       (f" at version {version}." if version else "."))
    return row


async def save_formula(ctx: FundingContext, year: FinancialYear, if_match: str | None,
                       factors: Sequence[FormulaFactor]) -> FormulaVersion:
    """The next version of ``year``'s formula. The first needs no If-Match; later ones need the
    current version's ETag (428 / 412). Raises 422 for a formula the domain refuses."""
    current = await find_formula(ctx.session, year)
    if current is not None:
        if if_match is None:
            raise PreconditionRequired("Send If-Match with the ETag of the current formula.")
        check_if_match(if_match, current.version)
    version = 1 if current is None else current.version + 1
    formula = Element3Formula(year, version, tuple(factors))
    row = FormulaVersion(financial_year=year.label, version=version,
                         factors=factors_json(formula), created_by=ctx.actor,
                         created_at=ctx.now)
    ctx.session.add(row)
    await ctx.session.flush()
    return row


# -- inputs ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedInputs:
    measures: tuple[str, ...]
    schools: list[SchoolFormulaInput]


def parse_inputs_csv(text: str, required_measures: Sequence[str]) -> ParsedInputs:
    """Read ``urn,pupils_on_roll,<measure>...`` rows; every other column is a measure count.

    Raises :class:`InvalidFundingInput` naming every bad row by its line (the header is line
    1), with ``bad_lines`` listing all of them even beyond the errors shown.
    """
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    header_errors: list[FieldError] = []
    for needed in (URN_COLUMN, ROLL_COLUMN, *required_measures):
        if needed not in header:
            header_errors.append(field_error("line[1]", f"the header has no column {needed!r}",
                                             "column_missing"))
    repeated = {h for h in header if header.count(h) > 1}
    header_errors += [field_error("line[1]", f"column {h!r} repeats", "column_duplicate")
                      for h in sorted(repeated)]
    if header_errors:
        raise invalid(header_errors)
    measures = tuple(h for h in header if h not in (URN_COLUMN, ROLL_COLUMN))
    errors: list[FieldError] = []
    bad_lines: list[int] = []
    schools: list[SchoolFormulaInput] = []
    seen: dict[str, int] = {}
    for record in reader:
        line_no = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        row_errors = _row_errors(record, header, line_no, seen)
        if row_errors:
            errors += row_errors
            bad_lines.append(line_no)
            continue
        values = dict(zip(header, (c.strip() for c in record), strict=True))
        schools.append(SchoolFormulaInput(values[URN_COLUMN], int(values[ROLL_COLUMN]),
                                          {m: int(values[m]) for m in measures}))
    if errors:
        raise _bad_rows(errors, bad_lines)
    if not schools:
        raise invalid([field_error("line[2]", "the file has no school rows", "rows_empty")])
    return ParsedInputs(measures, schools)


def _bad_rows(errors: list[FieldError], bad_lines: list[int]) -> Exception:
    exc = invalid(errors, detail=(
        f"{len(bad_lines)} row(s) are not valid, nothing was imported: line(s) "
        + ", ".join(map(str, bad_lines[:20])) + (" …" if len(bad_lines) > 20 else "")))
    exc.extra["bad_lines"] = bad_lines
    return exc


def _count(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def _row_errors(record: list[str], header: list[str], line_no: int,
                seen: dict[str, int]) -> list[FieldError]:
    where = f"line[{line_no}]"
    if len(record) != len(header):
        return [field_error(where, f"line {line_no} has {len(record)} cells, the header "
                                   f"{len(header)}", "cell_count")]
    values = dict(zip(header, (c.strip() for c in record), strict=True))
    errors: list[FieldError] = []
    urn = values[URN_COLUMN]
    fault = urn_error(urn, f"{where}.{URN_COLUMN}")
    if fault is not None:
        errors.append(fault)
    elif urn in seen:
        errors.append(field_error(f"{where}.{URN_COLUMN}",
                                  f"repeats school {urn} from line {seen[urn]}", "urn_duplicate"))
    else:
        seen[urn] = line_no
    roll = _count(values[ROLL_COLUMN])
    if roll is None:
        errors.append(field_error(f"{where}.{ROLL_COLUMN}", "must be a whole number from 0",
                                  "count_invalid"))
    for column in header:
        if column in (URN_COLUMN, ROLL_COLUMN):
            continue
        count = _count(values[column])
        if count is None:
            errors.append(field_error(f"{where}.{column}", "must be a whole number from 0",
                                      "count_invalid"))
        elif roll is not None and count > roll:
            errors.append(field_error(f"{where}.{column}", "must not exceed pupils_on_roll",
                                      "count_above_roll"))
    return errors


async def import_inputs(ctx: FundingContext, year: FinancialYear,
                        text: str) -> tuple[FormulaInputImport, tuple[str, ...]]:
    """Replace ``year``'s inputs with the CSV's, all or nothing (any bad row: 422, no write)."""
    formula = await find_formula(ctx.session, year)
    required = formula_from_row(formula).measure_codes if formula is not None else ()
    parsed = parse_inputs_csv(text, required)
    record = FormulaInputImport(id=uuid.uuid4(), financial_year=year.label,
                                rows=len(parsed.schools), imported_by=ctx.actor,
                                created_at=ctx.now)
    ctx.session.add(record)
    await ctx.session.flush()
    await ctx.session.execute(delete(SchoolFormulaInputRow).where(
        SchoolFormulaInputRow.financial_year == year.label))
    await copy_records(
        ctx.session, SchoolFormulaInputRow,
        ("financial_year", "urn", "pupils_on_roll", "measures", "import_id"),
        [(year.label, s.urn, s.pupils_on_roll, json.dumps(dict(s.measures)), record.id)
         for s in parsed.schools])
    return record, parsed.measures


async def load_inputs(session: AsyncSession, year: FinancialYear) -> list[SchoolFormulaInput]:
    rows = (await session.execute(
        select(SchoolFormulaInputRow.urn, SchoolFormulaInputRow.pupils_on_roll,
               SchoolFormulaInputRow.measures)
        .where(SchoolFormulaInputRow.financial_year == year.label)
        .order_by(SchoolFormulaInputRow.urn))).all()
    return [SchoolFormulaInput(urn, roll, measures) for urn, roll, measures in rows]


# -- allocation, what-if and publishing ------------------------------------------------------

async def compute_allocation(session: AsyncSession, year: FinancialYear, *,
                             weights: dict[str, Decimal] | None = None,
                             block_pence: int | None = None) -> FormulaResult:
    """Allocate ``year``'s formula block by its current formula and inputs (optionally with
    other weights or another block). Pure with respect to the database: reads only."""
    formula = formula_from_row(await load_formula(session, year))
    if weights:
        formula = formula.revise(weights)
    if block_pence is None:
        block_pence = (await load_budget(session, year)).formula_block_pence
    inputs = await load_inputs(session, year)
    if not inputs:
        raise Conflict(f"No formula inputs are imported for {year}.",
                       extra={"financial_year": year.label})
    return allocate(block_pence, formula, inputs)


async def latest_publication(session: AsyncSession,
                             year: FinancialYear) -> AllocationPublication | None:
    stmt = (select(AllocationPublication)
            .where(AllocationPublication.financial_year == year.label)
            .order_by(AllocationPublication.version.desc()).limit(1))
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class WhatIf:
    scenario: FormulaResult
    baseline: AllocationPublication | None
    changes: tuple[AllocationChange, ...]


async def what_if(session: AsyncSession, year: FinancialYear, *,
                  weights: dict[str, Decimal], block_pence: int | None) -> WhatIf:
    """A preview of other weights or another block against the published allocations.
    Writes nothing."""
    scenario = await compute_allocation(session, year, weights=weights, block_pence=block_pence)
    published = await latest_publication(session, year)
    baseline_amounts: dict[str, int] = {}
    if published is not None:
        baseline_amounts = dict((await session.execute(
            select(SchoolAllocationRow.urn, SchoolAllocationRow.amount_pence)
            .where(SchoolAllocationRow.publication_id == published.id))).all())
    baseline = FormulaResult(year, published.formula_version if published else 0,
                             published.block_pence if published else 0, Decimal(0), tuple(
                                 _bare(urn, amount) for urn, amount in baseline_amounts.items()))
    return WhatIf(scenario, published, compare_allocations(baseline, scenario))


def _bare(urn: str, amount: int) -> SchoolAllocation:
    return SchoolAllocation(urn, amount, Decimal(0), (), (), ())


async def publish_allocations(ctx: FundingContext, year: FinancialYear,
                              if_match: str) -> AllocationPublication:
    """Allocate by the current formula (If-Match: its ETag) and publish the result as the
    next version, schedule each school's payments, and emit ``FormulaPublished``.

    Raises 409 when the budget is not approved, inputs are missing, the term dates are not
    entered, or formula payments of the year have already been paid out.
    """
    formula_row = await load_formula(ctx.session, year)
    check_if_match(if_match, formula_row.version)
    budget = await load_budget(ctx.session, year, for_update=True)
    if budget.status != BudgetStatus.APPROVED.value:
        raise Conflict(f"The {year} budget is not approved: its formula block cannot be "
                       "published yet.", extra={"financial_year": year.label})
    if await payments.formula_payments_started(ctx.session, year):
        raise Conflict(f"Formula payments of {year} have already been paid in a run; a new "
                       "publication would change amounts already paid.",
                       extra={"financial_year": year.label})
    result = await compute_allocation(ctx.session, year)
    previous = await latest_publication(ctx.session, year)
    publication = AllocationPublication(
        id=uuid.uuid4(), financial_year=year.label,
        version=1 if previous is None else previous.version + 1,
        formula_version=formula_row.version, block_pence=result.block_pence,
        total_points=result.total_points, schools=len(result.allocations),
        published_by=ctx.actor, published_at=ctx.now)
    ctx.session.add(publication)
    await ctx.session.flush()
    await copy_records(
        ctx.session, SchoolAllocationRow,
        ("publication_id", "urn", "amount_pence", "points", "factors"),
        [(publication.id, a.urn, a.amount_pence, a.points, json.dumps([
            {"code": c, "value": v, "amount_pence": p}
            for c, v, p in zip(a.factor_codes, a.factor_values, a.factor_pence, strict=True)]))
         for a in result.allocations])
    await payments.replace_formula_schedules(
        ctx, year, publication.id, [(a.urn, a.amount_pence) for a in result.allocations])
    await ctx.emit(FormulaPublished(
        financial_year=year.label, version=publication.version,
        block=pounds_str(result.block_pence), schools=len(result.allocations),
        published_at=ctx.now), subject=f"{year.label}/v{publication.version}")
    return publication


async def school_allocation(session: AsyncSession, year: FinancialYear, urn: str
                            ) -> tuple[AllocationPublication, SchoolAllocationRow,
                                       FormulaVersion]:
    """The latest published allocation of school ``urn`` (404 if none)."""
    publication = await latest_publication(session, year)
    row = None
    if publication is not None:
        row = await session.get(SchoolAllocationRow, (publication.id, urn))
    if publication is None or row is None:
        raise NotFound(f"No published {year} allocation for school {urn}.")
    formula = await load_formula(session, year, publication.formula_version)
    return publication, row, formula


async def count_publications(session: AsyncSession, year: FinancialYear) -> int:
    stmt = select(func.count()).where(AllocationPublication.financial_year == year.label)
    return int((await session.execute(stmt)).scalar_one())
