"""Every service migrates up and down in its own schema and answers /health/ready."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url

from lfi_shared import migrations, provisioning
from lfi_shared.db import to_asyncpg_dsn
from lfi_shared.testing.plugin import TEST_ROLE_PASSWORD, TestDatabase, role_for_tests

ROOT = Path(__file__).resolve().parents[2]
DATA_SERVICES = ("referrals", "placements", "funding", "events")


async def _tables(url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(to_asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def own_database(test_database: TestDatabase):
    """A database of this module's own: migrating down here touches no other test's data."""
    name = f"{test_database.name}_mig"
    admin = make_url(test_database.admin_dsn)
    await provisioning.ensure_database(test_database.admin_dsn, name)
    db_admin = admin.set(database=name).render_as_string(hide_password=False)
    yield TestDatabase(name=name, admin_dsn=db_admin)
    await provisioning.drop_database(test_database.admin_dsn, name)


@pytest.mark.parametrize("service", DATA_SERVICES)
async def test_service_migrates_up_down_and_up_in_its_own_schema(service: str,
                                                                own_database: TestDatabase) -> None:
    await provisioning.ensure_service_schema(own_database.admin_dsn, schema=service,
                                             role=role_for_tests(service), password=TEST_ROLE_PASSWORD)
    url = own_database.role_url(role_for_tests(service))
    service_dir = ROOT / "services" / service
    await asyncio.to_thread(migrations.upgrade, service_dir, url, service)
    tables = await _tables(url, service)
    assert {"alembic_version", "outbox", "inbox", "dead_letters", "idempotency_keys"} <= tables
    await asyncio.to_thread(migrations.downgrade, service_dir, url, service, "base")
    assert await _tables(url, service) == {"alembic_version"}
    await asyncio.to_thread(migrations.upgrade, service_dir, url, service)
    assert "outbox" in await _tables(url, service)


@pytest.mark.parametrize("service", DATA_SERVICES)
async def test_service_is_ready_with_its_database_and_nats(service: str, make_service_schema,
                                                           nats_url: str, nats_namespace: str,
                                                           local_keys) -> None:
    url = await make_service_schema(service)
    await asyncio.to_thread(migrations.upgrade, ROOT / "services" / service, url, service)
    settings_mod = importlib.import_module(f"lfi_{service}.settings")
    main_mod = importlib.import_module(f"lfi_{service}.main")
    settings = settings_mod.Settings(database_url=url, nats_url=nats_url,
                                     nats_namespace=nats_namespace, environment="test",
                                     auth_jwks_file=local_keys.jwks_path)
    app = main_mod.create_app(settings)
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=60):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            ready = await client.get("/health/ready")
            live = await client.get("/health/live")
            spec = await client.get("/openapi.json")
    assert live.status_code == 200
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "nats": "ok"}
    assert spec.json()["info"]["title"].startswith("Local First Inclusion")
