"""Zones and the school register: the DfE (Get Information about Schools) CSV import, zone
renames, moving a school between zones. Every change publishes a school or zone event so
other services keep read models; an import that changes nothing publishes nothing.

How a school is placed in a zone (the DfE extract has no zone): the import reads one extra
column, ``Zone``, holding a zone's code (``north-norwich``) or name (``North Norwich``), matched
without regard to case. A blank ``Zone`` keeps a known school where it is; a new school with a
blank or unknown zone is rejected, since every referral needs its school's zone. An
administrator can also move a school (``PATCH /v1/schools/{urn}``).

Only the local authority's own schools are imported (``LA (code)`` must be ours, e.g. 926).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_contracts import referrals as contracts
from lfi_contracts.referrals import seeded_zone_id
from lfi_referrals.db.models import School, Zone
from lfi_referrals.domain.errors import Fault
from lfi_referrals.domain.identifiers import laestab_fault, urn_fault
from lfi_referrals.messaging.publishing import publish
from lfi_referrals.schemas.register import RegisterImportResult, RejectedRow
from lfi_shared.http.problems import FieldError, InvalidRequest
from lfi_shared.settings import ServiceSettings

COL_URN = "URN"
COL_LA = "LA (code)"
COL_ESTAB = "EstablishmentNumber"
COL_NAME = "EstablishmentName"
COL_TYPE = "TypeOfEstablishment (name)"
COL_STATUS = "EstablishmentStatus (name)"
COL_PHASE = "PhaseOfEducation (name)"
COL_LOW = "StatutoryLowAge"
COL_HIGH = "StatutoryHighAge"
COL_POSTCODE = "Postcode"
COL_PUPILS = "NumberOfPupils"
COL_ZONE = "Zone"
REQUIRED_COLUMNS = (COL_URN, COL_LA, COL_ESTAB, COL_NAME)
REGISTER_COLUMNS = (COL_URN, COL_LA, "LA (name)", COL_ESTAB, COL_NAME, COL_TYPE, COL_STATUS,
                    COL_PHASE, COL_LOW, COL_HIGH, COL_POSTCODE, COL_PUPILS, COL_ZONE)

_SCHOOL_FIELDS = ("laestab", "name", "establishment_type", "status", "phase",
                  "statutory_low_age", "statutory_high_age", "postcode", "number_of_pupils",
                  "zone_id")


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------ zones


@dataclass(frozen=True, slots=True)
class ZoneSeed:
    code: str
    name: str


async def ensure_zones(session: AsyncSession, settings: ServiceSettings,
                       zones: Sequence[ZoneSeed]) -> int:
    """Create each zone not there yet (by code), publishing ``ZoneCreated``; returns how many
    were created. Existing zones keep their (possibly renamed) names."""
    known = set(await session.scalars(select(Zone.code)))
    created = 0
    for seed in zones:
        if seed.code in known:
            continue
        zone = Zone(id=seeded_zone_id(seed.code), code=seed.code, name=seed.name, version=1)
        session.add(zone)
        await session.flush()
        await publish(session, settings, contracts.ZoneCreated(
            zone_id=zone.id, code=zone.code, name=zone.name),
            subject=str(zone.id), correlation_id=None, traceparent=None)
        created += 1
    return created


async def rename_zone(session: AsyncSession, settings: ServiceSettings, zone: Zone,
                      name: str, traceparent: str | None) -> None:
    """Rename ``zone`` (a new version and ``ZoneRenamed``); the same name changes nothing."""
    if zone.name == name:
        return
    zone.name = name
    zone.version += 1
    zone.updated_at = _now()
    await session.flush()
    await publish(session, settings, contracts.ZoneRenamed(zone_id=zone.id, code=zone.code,
                                                           name=zone.name),
                  subject=str(zone.id), correlation_id=None, traceparent=traceparent)


# ---------------------------------------------------------------------------------- schools


def _school_event(school: School, *, registered: bool) -> contracts.SchoolRegistered | \
        contracts.SchoolUpdated:
    data: dict[str, Any] = {
        "urn": school.urn, "laestab": school.laestab, "name": school.name,
        "phase": school.phase, "establishment_type": school.establishment_type,
        "status": school.status, "postcode": school.postcode, "zone_id": school.zone_id,
        "number_of_pupils": school.number_of_pupils}
    if registered:
        return contracts.SchoolRegistered(**data)
    return contracts.SchoolUpdated(**data)


async def move_school(session: AsyncSession, settings: ServiceSettings, school: School,
                      zone: Zone, traceparent: str | None) -> None:
    """Place ``school`` in ``zone`` (``SchoolUpdated``); the same zone changes nothing."""
    if school.zone_id == zone.id:
        return
    school.zone_id = zone.id
    school.version += 1
    school.updated_at = _now()
    await session.flush()
    await publish(session, settings, _school_event(school, registered=False),
                  subject=school.urn, correlation_id=None, traceparent=traceparent)


def _text(row: Mapping[str, str | None], column: str) -> str | None:
    value = (row.get(column) or "").strip()
    return value or None


def _integer(row: Mapping[str, str | None], column: str,
             errors: list[FieldError]) -> int | None:
    value = _text(row, column)
    if value is None:
        return None
    if not value.isdigit():
        errors.append(FieldError(field=column, message=f"{column} must be a whole number.",
                                 code="not_an_integer"))
        return None
    return int(value)


def _zone_index(zones: Iterable[Zone]) -> dict[str, Zone]:
    index: dict[str, Zone] = {}
    for zone in zones:
        index[zone.code.casefold()] = zone
        index[zone.name.casefold()] = zone
    return index


def _parse_row(row: Mapping[str, str | None], *, la_code: str, zones: Mapping[str, Zone],
               existing: School | None) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    urn = _text(row, COL_URN) or ""
    if (fault := urn_fault(urn)) is not None:
        errors.append(fault.at(COL_URN))
    la = _text(row, COL_LA) or ""
    number = _text(row, COL_ESTAB) or ""
    laestab = la + number
    if not (la.isdigit() and len(la) == 3):
        errors.append(Fault("la_code_format", "The LA code must be 3 digits.").at(COL_LA))
    elif not (number.isdigit() and len(number) == 4):
        errors.append(Fault("establishment_number_format",
                            "The establishment number must be 4 digits.").at(COL_ESTAB))
    elif (fault := laestab_fault(laestab, la_code=la_code)) is not None:
        errors.append(fault.at(COL_LA))
    name = _text(row, COL_NAME)
    if name is None:
        errors.append(FieldError(field=COL_NAME, message="The establishment name is required.",
                                 code="missing"))
    values: dict[str, Any] = {
        "urn": urn, "laestab": laestab, "name": name,
        "establishment_type": _text(row, COL_TYPE), "status": _text(row, COL_STATUS),
        "phase": _text(row, COL_PHASE), "postcode": _text(row, COL_POSTCODE),
        "statutory_low_age": _integer(row, COL_LOW, errors),
        "statutory_high_age": _integer(row, COL_HIGH, errors),
        "number_of_pupils": _integer(row, COL_PUPILS, errors),
    }
    zone_name = _text(row, COL_ZONE)
    if zone_name is not None:
        zone = zones.get(zone_name.casefold())
        if zone is None:
            errors.append(FieldError(field=COL_ZONE, message="No zone has this code or name.",
                                     code="unknown_zone"))
        else:
            values["zone_id"] = zone.id
    elif existing is not None:
        values["zone_id"] = existing.zone_id
    else:
        errors.append(FieldError(field=COL_ZONE, message="A new school needs a zone.",
                                 code="missing"))
    return values, errors


def read_register_csv(content: bytes) -> tuple[list[tuple[int, dict[str, str | None]]],
                                               list[str]]:
    """The rows of a register CSV with the line each ends on, and its header.

    Raises:
        InvalidRequest: the file is not UTF-8 text or lacks a required column.
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")  # GIAS extracts are Windows-1252
        except UnicodeDecodeError:
            raise InvalidRequest("The file is not a text CSV file.", errors=[FieldError(
                field="body", message="Not UTF-8 or Windows-1252 text.",
                code="encoding")]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidRequest("The CSV file lacks required columns.", errors=[
            FieldError(field=f"body.{c}", message=f"Column '{c}' is missing.", code="missing")
            for c in missing])
    reader.fieldnames = header
    rows = []
    for record in reader:
        rows.append((reader.line_num, {k: v for k, v in record.items() if isinstance(k, str)}))
    return rows, header


async def import_register(session: AsyncSession, settings: ServiceSettings, *, la_code: str,
                          content: bytes, traceparent: str | None = None) -> RegisterImportResult:
    """Import a register extract: register new schools, update changed ones, reject bad rows
    (each reported by line with every reason). A second import of the same file changes and
    publishes nothing.

    Raises:
        InvalidRequest: the file as a whole is unreadable (see :func:`read_register_csv`).
    """
    rows, _ = read_register_csv(content)
    zones = _zone_index(await session.scalars(select(Zone)))
    schools = {s.urn: s for s in await session.scalars(select(School))}
    laestab_owner = {s.laestab: s.urn for s in schools.values()}
    seen: set[str] = set()
    rejected: list[RejectedRow] = []
    registered = updated = unchanged = 0
    for line, record in rows:
        urn = _text(record, COL_URN)
        values, errors = _parse_row(record, la_code=la_code, zones=zones,
                                    existing=schools.get(urn or ""))
        if not errors and urn in seen:
            errors.append(FieldError(field=COL_URN, message="This URN is earlier in the file.",
                                     code="duplicate_urn"))
        owner = laestab_owner.get(values["laestab"])
        if not errors and owner is not None and owner != urn:
            errors.append(FieldError(field=COL_LA, message="Another school has this LAESTAB.",
                                     code="duplicate_laestab"))
        if errors:
            rejected.append(RejectedRow(line=line, urn=urn, errors=errors))
            continue
        assert urn is not None
        seen.add(urn)
        laestab_owner[values["laestab"]] = urn
        school = schools.get(urn)
        if school is None:
            school = School(version=1, **values)
            session.add(school)
            schools[urn] = school
            await session.flush()
            await publish(session, settings, _school_event(school, registered=True),
                          subject=urn, correlation_id=None, traceparent=traceparent)
            registered += 1
            continue
        changes = {f: values[f] for f in _SCHOOL_FIELDS if getattr(school, f) != values[f]}
        if not changes:
            unchanged += 1
            continue
        for field, value in changes.items():
            setattr(school, field, value)
        school.version += 1
        school.updated_at = _now()
        await session.flush()
        await publish(session, settings, _school_event(school, registered=False),
                      subject=urn, correlation_id=None, traceparent=traceparent)
        updated += 1
    return RegisterImportResult(rows=len(rows), registered=registered, updated=updated,
                                unchanged=unchanged, rejected=rejected)
