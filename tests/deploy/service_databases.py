"""A database of a test's own holding one service's role and schema, migrated to a chosen
revision (the plugin's ``migrated_service_database`` always goes to head), dropped at the end."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from lfi_shared import migrations, provisioning
from lfi_shared.testing.plugin import TEST_ROLE_PASSWORD, TestDatabase, role_for_tests, service_dir


@asynccontextmanager
async def service_database(test_database: TestDatabase, service: str, *,
                           revision: str = "head",
                           migrations_dir: Path | None = None) -> AsyncIterator[str]:
    """The URL (as the service's test role) of a new database with ``service``'s schema,
    migrated to ``revision`` with the migrations of ``migrations_dir`` (a folder holding
    ``alembic.ini`` and ``migrations/``; the installed service's by default)."""
    name = f"{test_database.name}_{service[:8]}_{secrets.token_hex(3)}"
    await provisioning.ensure_database(test_database.admin_dsn, name)
    try:
        admin = make_url(test_database.admin_dsn).set(database=name)
        database = TestDatabase(name=name, admin_dsn=admin.render_as_string(hide_password=False))
        role = role_for_tests(service)
        await provisioning.ensure_service_schema(database.admin_dsn, schema=service, role=role,
                                                 password=TEST_ROLE_PASSWORD)
        url = database.role_url(role)
        folder = migrations_dir or service_dir(service)
        await asyncio.to_thread(migrations.upgrade, folder, url, service, revision)
        yield url
    finally:
        await provisioning.drop_database(test_database.admin_dsn, name)
