"""Pytest plugin (loaded from the workspace's pytest configuration).

The whole suite runs in a database and a NATS namespace of its own, made at the start of the
session and removed at the end, so a running ``make run`` stack is never touched:

* ``LFI_TEST_PG_ADMIN_URL`` — an administrator DSN on the server to use
  (default ``postgresql://postgres@127.0.0.1:5432/postgres``);
* ``LFI_TEST_NATS_URL`` — the NATS server (default ``nats://127.0.0.1:4222``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from lfi_shared import provisioning

TEST_ROLE_PASSWORD = "lfi-test-only"


def role_for_tests(schema: str) -> str:
    """The role owning ``schema`` in test databases. Roles are cluster-wide, so tests never
    use (or change the password of) the ``lfi_<name>`` roles a running ``make run`` uses."""
    return f"lfi_test_{schema}"


@dataclass(frozen=True)
class TestDatabase:
    __test__ = False  # a fixture value, not a test class

    name: str
    admin_dsn: str  # asyncpg DSN, administrator, connected to the test database

    def role_url(self, role: str, password: str = TEST_ROLE_PASSWORD) -> str:
        return provisioning.role_url(self.admin_dsn, role=role, password=password)


def _admin_url() -> str:
    return os.environ.get("LFI_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session", autouse=True)
async def _nothing_left_running() -> AsyncIterator[None]:
    """At the end of the run, cancel what is still running on the shared event loop.

    The event loop's own shutdown cancels its leftover tasks once and then waits for them
    without a limit; a client task caught mid-reconnect to a NATS server that a fault test
    stopped can take a second cancellation to end. Set up first, this is torn down last.
    """
    yield
    current = asyncio.current_task()
    for _ in range(100):
        left = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
        if not left:
            return
        for task in left:
            task.cancel()
        await asyncio.wait(left, timeout=0.1)


@pytest.fixture(scope="session")
def run_id() -> str:
    """A short id naming this test session's database and NATS namespace."""
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
async def test_database(run_id: str) -> AsyncIterator[TestDatabase]:
    admin = _admin_url()
    name = f"lfi_test_{run_id}"
    await provisioning.ensure_database(admin, name)
    db_admin = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield TestDatabase(name=name, admin_dsn=db_admin)
    finally:
        await provisioning.drop_database(admin, name)


SchemaFactory = Callable[[str], Awaitable[str]]


@pytest.fixture(scope="session")
async def make_service_schema(test_database: TestDatabase) -> SchemaFactory:
    """``await make_service_schema("referrals")`` → URL for role ``lfi_test_referrals`` owning
    that schema in the session's database."""

    async def make(schema: str) -> str:
        role = role_for_tests(schema)
        await provisioning.ensure_service_schema(
            test_database.admin_dsn, schema=schema, role=role, password=TEST_ROLE_PASSWORD
        )
        return test_database.role_url(role)

    return make


def service_dir(service: str) -> Path:
    """``services/<service>/`` of an installed (editable) service package."""
    spec = importlib.util.find_spec(f"lfi_{service}")
    if spec is None or spec.origin is None:
        raise LookupError(f"service package lfi_{service} is not installed")
    return Path(spec.origin).resolve().parents[2]


@pytest.fixture(scope="session")
async def migrated_service_database(test_database: TestDatabase) -> AsyncIterator[SchemaFactory]:
    """``await migrated_service_database("placements")`` → URL of a NEW database of its own,
    with the service's role and schema, migrated to head. For tests that need a service's
    tables with nothing else in them (counts, totals, seed data)."""
    made: list[str] = []

    async def make(service: str) -> str:
        name = f"{test_database.name}_{len(made) + 1}"
        made.append(name)
        await provisioning.ensure_database(test_database.admin_dsn, name)
        admin = make_url(test_database.admin_dsn).set(database=name)
        database = TestDatabase(name=name, admin_dsn=admin.render_as_string(hide_password=False))
        role = role_for_tests(service)
        await provisioning.ensure_service_schema(database.admin_dsn, schema=service, role=role,
                                                 password=TEST_ROLE_PASSWORD)
        url = database.role_url(role)
        from lfi_shared import migrations

        await asyncio.to_thread(migrations.upgrade, service_dir(service), url, service)
        return url

    yield make
    for name in made:
        await provisioning.drop_database(test_database.admin_dsn, name)


@pytest.fixture(scope="session")
def nats_url() -> str:
    return os.environ.get("LFI_TEST_NATS_URL", "nats://127.0.0.1:4222")


@pytest.fixture(scope="session")
async def nats_namespace(run_id: str, nats_url: str) -> AsyncIterator[str]:
    """A NATS namespace for this session; its streams are deleted at the end."""
    namespace = f"t{run_id}"
    yield namespace
    import nats

    try:
        nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=1)
    except Exception:  # the server may have gone; nothing to clean then
        return
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name and info.config.name.startswith(namespace.upper() + "_"):
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()


# Fixtures of the other mechanisms, registered through this one plugin.
from lfi_shared.testing.auth import *  # noqa: E402,F403
from lfi_shared.testing.nats import *  # noqa: E402,F403
