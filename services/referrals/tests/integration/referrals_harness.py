"""The referrals service on the real PostgreSQL and NATS: an app per database, tokens, factories."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import nats
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select, text

from lfi_referrals.db.models import Zone
from lfi_referrals.domain.identifiers import upn_check_letter
from lfi_referrals.main import create_app
from lfi_referrals.sample_register import ZONES, sample_rows, to_csv
from lfi_referrals.service.register import ensure_zones, import_register
from lfi_referrals.settings import Settings
from lfi_shared.auth.principal import Role
from lfi_shared.db import Database
from lfi_shared.messaging.connection import connect_nats
from lfi_shared.messaging.streams import ensure_stream

SCHOOL_A = "990001"  # in zone north-norwich (sample rows go round the zones in order)
SCHOOL_B = "990002"  # in zone kings-lynn
SCHOOL_A2 = "990016"  # north-norwich again


@dataclass
class Env:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    database: Database
    zones: dict[str, Zone]


_upn_counter = itertools.count(1)


def new_upn(temporary: bool = False) -> str:
    """A valid UPN not used before in this session (a temporary one ends in a letter)."""
    n = next(_upn_counter)
    body = f"92625{n:06d}" + ("A" if temporary else "7")
    return upn_check_letter(body) + body


def child_body(school_urn: str = SCHOOL_A, **overrides: Any) -> dict[str, Any]:
    child = {"given_name": "Ellery", "family_name": "Quintrell", "date_of_birth": "2012-05-17",
             "upn": new_upn(), "year_group": "8", "sen_provision": "K", "primary_need": "SEMH",
             "secondary_need": "SLCN",
             "exclusions": [{"kind": "SUSP", "start_on": "2025-09-22", "school_days": "2"}]}
    child.update(overrides.pop("child", {}))
    body: dict[str, Any] = {
        "school_urn": school_urn, "subject_kind": "child", "child": child,
        "concerns": "At risk of suspension since the spring term.",
        "already_tried": "Pastoral mentor, reduced timetable.",
        "support_requested": ["ep_consultation", "eib_place"],
        "parental_agreement": {"given_by": "parent", "agreed_on": "2025-09-01"}}
    body.update(overrides)
    return body


def cohort_body(school_urn: str = SCHOOL_A, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "school_urn": school_urn, "subject_kind": "cohort",
        "cohort": {"description": "Year 9 pupils after the move from middle school",
                   "pupil_count": 12, "year_groups": ["9"], "primary_needs": ["SEMH", "SLCN"]},
        "concerns": "Rising suspensions in year 9.",
        "support_requested": ["outreach", "element3_review"]}
    body.update(overrides)
    return body


def plan_body(**overrides: Any) -> dict[str, Any]:
    review = date.today().replace(year=date.today().year + 1).isoformat()
    plan = {"level": "targeted", "focus": "child", "actions": ["Weekly EP sessions"],
            "ep_hours": "6.50", "review_on": review}
    plan.update(overrides)
    return {"support_plan": plan}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ensure_producer_streams(settings: Settings) -> None:
    nc = await connect_nats(settings.nats_url, name="referrals-test-streams")
    try:
        js = nc.jetstream()
        for producer in ("placements", "funding", "referrals"):
            await ensure_stream(js, settings, producer)
    finally:
        await nc.close()


EnvFactory = Callable[..., Awaitable[Env]]


@pytest.fixture(scope="session")
async def make_env(migrated_service_database, nats_url: str, nats_namespace: str,
                   local_keys) -> AsyncIterator[EnvFactory]:
    """``await make_env(schools=30)``: a new database, migrated and seeded with the zones and
    ``schools`` sample schools, and the app running on it (relay and consumers included)."""
    managers: list[tuple[LifespanManager, httpx.AsyncClient]] = []

    async def make(schools: int = 30) -> Env:
        url = await migrated_service_database("referrals")
        settings = Settings(database_url=url, nats_url=nats_url, nats_namespace=nats_namespace,
                            environment="test", auth_jwks_file=local_keys.jwks_path,
                            relay_poll_interval_s=0.2, consumer_fetch_timeout_s=0.5,
                            log_json=False, log_level="WARNING")
        await ensure_producer_streams(settings)
        database = Database(url, pool_size=2, max_overflow=2)
        async with database.transaction() as session:
            await ensure_zones(session, settings, ZONES)
            if schools:
                await import_register(session, settings, la_code=settings.la_code,
                                      content=to_csv(sample_rows(schools)))
        async with database.transaction() as session:
            zones = {z.code: z for z in await session.scalars(select(Zone))}
        app = create_app(settings)
        manager = LifespanManager(app, startup_timeout=30, shutdown_timeout=30)
        await manager.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://referrals")
        managers.append((manager, client))
        return Env(app=app, client=client, settings=settings, database=database, zones=zones)

    yield make
    for manager, client in reversed(managers):
        await client.aclose()
        await manager.__aexit__(None, None, None)


@pytest.fixture(scope="session")
async def env(make_env: EnvFactory) -> Env:
    """The shared app for tests that need no clean slate."""
    return await make_env()


@dataclass(frozen=True)
class Tokens:
    school_a: dict[str, str]
    school_b: dict[str, str]
    practitioner_north: dict[str, str]
    practitioner_lynn: dict[str, str]
    admin: dict[str, str]
    auditor: dict[str, str]
    placements_officer: dict[str, str]


@pytest.fixture(scope="session")
def tokens(token_factory) -> Tokens:
    return Tokens(
        school_a=bearer(token_factory(Role.school_staff, school_urns=[SCHOOL_A, SCHOOL_A2],
                                      subject="staff-a")),
        school_b=bearer(token_factory(Role.school_staff, school_urns=[SCHOOL_B],
                                      subject="staff-b")),
        practitioner_north=bearer(token_factory(Role.tas_practitioner, zones=["north-norwich"],
                                                subject="tas-north")),
        practitioner_lynn=bearer(token_factory(Role.tas_practitioner, zones=["kings-lynn"],
                                               subject="tas-lynn")),
        admin=bearer(token_factory(Role.la_admin, subject="admin")),
        auditor=bearer(token_factory(Role.auditor, subject="auditor")),
        placements_officer=bearer(token_factory(Role.placements_officer, subject="officer")),
    )


async def nats_publish(settings: Settings, subject: str, body: bytes,
                       msg_id: str | None = None) -> None:
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        await js.publish(settings.subject_for(subject), body, headers=headers)
    finally:
        await nc.close()


async def create(env: Env, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = await env.client.post("/v1/referrals", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def act(env: Env, headers: dict[str, str], referral: dict[str, Any], action: str,
              body: dict[str, Any] | None = None, expect: int = 200) -> dict[str, Any]:
    r = await env.client.post(f"/v1/referrals/{referral['id']}/{action}", json=body,
                              headers={**headers, "If-Match": f'"{referral["version"]}"'})
    assert r.status_code == expect, r.text
    return r.json()


async def walk_to(env: Env, tokens: Tokens, status: str, body: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """A referral of school A (north-norwich) walked by legal transitions to ``status``."""
    ref = await create(env, tokens.school_a, body or child_body())
    if status == "draft":
        return ref
    if status == "withdrawn":
        return await act(env, tokens.school_a, ref, "withdraw", {"reason": "raised_in_error"})
    ref = await act(env, tokens.school_a, ref, "submit")
    if status == "submitted":
        return ref
    if status == "declined":
        return await act(env, tokens.practitioner_north, ref, "decline",
                         {"reason": "referred_elsewhere"})
    ref = await act(env, tokens.practitioner_north, ref, "triage")
    if status == "triaged":
        return ref
    focus = "child" if ref["subject_kind"] == "child" else "cohort"
    ref = await act(env, tokens.practitioner_north, ref, "accept", plan_body(focus=focus))
    if status == "accepted":
        return ref
    ref = await act(env, tokens.practitioner_north, ref, "start-support")
    if status == "in_support":
        return ref
    assert status == "closed"
    return await act(env, tokens.practitioner_north, ref, "close", {"outcome": "needs_met"})


async def outbox_types(env: Env, referral_id: str) -> list[str]:
    async with env.database.transaction() as session:
        rows = await session.execute(text(
            "SELECT event_type FROM referrals.outbox WHERE subject = :s ORDER BY seq"),
            {"s": referral_id})
        return [r[0] for r in rows]
