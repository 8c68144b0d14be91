"""The placements integration tests' harness: a migrated database of each test's own (the
plugin's ``migrated_service_database``), the app on it, and factories."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from lfi_placements.db.models import AcademicTerm, ProvisionRow, ProvisionTypeRow
from lfi_placements.domain.reference_data import seed_provision_types, seed_terms
from lfi_placements.main import create_app
from lfi_placements.settings import Settings
from lfi_shared.auth import Role
from lfi_shared.db import Database, to_asyncpg_dsn
from lfi_shared.testing.auth import bearer

ZONE = uuid.UUID(int=0xA1)
OTHER_ZONE = uuid.UUID(int=0xB2)


@dataclass
class Harness:
    """The app on a database of its own, a client, and ways to make data."""

    app: Any
    client: httpx.AsyncClient
    database: Database
    url: str
    settings: Settings
    tokens: Any

    def headers(self, role: Role = Role.placements_officer, **scopes: Any) -> dict[str, str]:
        return bearer(self.tokens(role, **scopes))

    async def raw(self) -> asyncpg.Connection:
        """A connection of its own, as the service role, bypassing the application."""
        return await asyncpg.connect(to_asyncpg_dsn(self.url))

    async def add_reference_data(self) -> None:
        async with self.database.transaction() as session:
            for kind in seed_provision_types():
                session.add(ProvisionTypeRow(code=kind.code.value, name=kind.name,
                                             max_stay_terms=kind.max_stay_terms))
            for term in seed_terms():
                session.add(AcademicTerm(academic_year=term.academic_year, name=term.name.value,
                                         start_date=term.start, end_date=term.end))

    async def add_provision(self, *, kind: str = "eib", capacity: int = 10,
                            zone_id: uuid.UUID = ZONE, year_groups: tuple[str, ...] = ("9",),
                            opening_date: date = date(2025, 9, 1), name: str | None = None
                            ) -> uuid.UUID:
        provision_id = uuid.uuid4()
        async with self.database.transaction() as session:
            session.add(ProvisionRow(
                id=provision_id, provision_type=kind, name=name or f"Base {provision_id.hex[:6]}",
                capacity=capacity, zone_id=zone_id, host_school_urn="900001",
                year_groups=list(year_groups), opening_date=opening_date, status="open",
                version=1))
        return provision_id

    async def request(self, *, child_id: uuid.UUID | None = None, kind: str = "eib",
                      priority: str = "standard", start: date = date(2025, 11, 3),
                      year_group: str = "9", urn: str = "121234", zone_id: uuid.UUID = ZONE,
                      planned_end: date | None = None, **extra: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "child_id": str(child_id or uuid.uuid4()), "home_school_urn": urn,
            "zone_id": str(zone_id), "year_group": year_group, "provision_type": kind,
            "priority": priority, "requested_start": start.isoformat(), **extra}
        if planned_end is not None:
            body["planned_end"] = planned_end.isoformat()
        return await self.client.post("/v1/placements/requests", json=body,
                                      headers=self.headers())


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def harness(migrated_service_database: Callable[[str], Awaitable[str]], token_factory: Any,
                  local_keys: Any, nats_url: str, nats_namespace: str
                  ) -> AsyncIterator[HarnessFactory]:
    """``await harness(fixed_today=date(...))`` → the app running on a fresh database."""
    stack: list[tuple[LifespanManager, httpx.AsyncClient]] = []

    async def make(*, fixed_today: date = date(2025, 10, 1), **settings: Any) -> Harness:
        url = await migrated_service_database("placements")
        # Up to 30 connections: the races (50 requests at once) still contend, and leave
        # PostgreSQL's other slots (100 in all) to the rest of the run.
        options: dict[str, Any] = {"offer_sweep_interval_s": 0, "db_pool_size": 10,
                                   "db_max_overflow": 20, "relay_poll_interval_s": 0.2}
        options.update(settings)
        config = Settings(database_url=url, nats_url=nats_url, nats_namespace=nats_namespace,
                          environment="test", auth_jwks_file=local_keys.jwks_path,
                          fixed_today=fixed_today, **options)
        app = create_app(config)
        manager = LifespanManager(app, startup_timeout=30, shutdown_timeout=30)
        await manager.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                   base_url="http://placements")
        stack.append((manager, client))
        return Harness(app=app, client=client, database=app.state.database, url=url,
                       settings=config, tokens=token_factory)

    yield make
    for manager, client in reversed(stack):
        await client.aclose()
        await manager.__aexit__(None, None, None)
