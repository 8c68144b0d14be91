"""deploy/postgres/roles.sql: a login role per service that owns its schema and nothing else,
passwords only as psql variables. Read as text, then run with psql against a scratch database
on the test server (LFI_TEST_PG_ADMIN_URL) to prove what each role can and cannot do."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator

import asyncpg
import pytest
from deploy_support import DEPLOY, database_services
from sqlalchemy.engine import make_url

from lfi_shared import provisioning
from lfi_shared.settings import DEV_DATABASE_PASSWORD

ROLES_SQL = DEPLOY / "postgres" / "roles.sql"
INIT_SCRIPT = DEPLOY / "postgres" / "docker-init" / "10-lfi-roles.sh"
SERVICES = database_services()


def sql_text() -> str:
    return ROLES_SQL.read_text(encoding="utf-8")


def test_every_database_service_gets_a_role_owning_its_schema() -> None:
    rows = re.findall(r"\('(\w+)', '(\w+)', :'(\w+)'\)", sql_text())
    assert sorted(rows) == sorted((name, f"lfi_{name}", f"{name}_password") for name in SERVICES)


def test_no_password_is_written_in_the_sql() -> None:
    text = sql_text()
    assert not re.search(r"PASSWORD\s+'", text, re.IGNORECASE), "a literal password"
    for name in SERVICES:
        assert f":'{name}_password'" in text, f"{name}'s password is not a psql variable"


def test_the_compose_init_script_passes_every_password_variable() -> None:
    variables = set(re.findall(r":'(\w+_password)'", sql_text()))
    script = INIT_SCRIPT.read_text(encoding="utf-8")
    passed = set(re.findall(r"-v (\w+_password)=", script))
    assert passed == variables


def admin_url() -> str:
    return os.environ.get("LFI_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
async def scratch_database() -> AsyncIterator[str]:
    """A database of its own on the test server; its admin URL (libpq form, for psql)."""
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    admin = admin_url()
    try:
        conn = await asyncpg.connect(admin, timeout=5)
        await conn.close()
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"no PostgreSQL at LFI_TEST_PG_ADMIN_URL: {error!r}")
    name = f"lfi_deploy_{secrets.token_hex(4)}"
    await provisioning.ensure_database(admin, name)
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        await provisioning.drop_database(admin, name)


def run_roles_sql(url: str, passwords: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The role names are the platform's own, shared by the whole cluster: give them the
    # development password, which a `make run` stack on this server also uses.
    variables = [arg for name, password in passwords.items()
                 for arg in ("-v", f"{name}_password={password}")]
    return subprocess.run(
        ["psql", "--no-psqlrc", "-X", "-q", "-v", "ON_ERROR_STOP=1", *variables,
         "-f", str(ROLES_SQL), url],
        capture_output=True, text=True, timeout=120, check=False)


def all_passwords() -> dict[str, str]:
    return {name: DEV_DATABASE_PASSWORD for name in SERVICES}


async def connect_as(url: str, role: str) -> asyncpg.Connection:
    role_url = make_url(url).set(username=role, password=DEV_DATABASE_PASSWORD)
    return await asyncpg.connect(role_url.render_as_string(hide_password=False), timeout=5)


async def test_roles_own_their_schema_and_reach_nothing_else(scratch_database: str) -> None:
    first = run_roles_sql(scratch_database, all_passwords())
    assert first.returncode == 0, first.stderr
    again = run_roles_sql(scratch_database, all_passwords())
    assert again.returncode == 0, f"not idempotent: {again.stderr}"

    admin = await asyncpg.connect(scratch_database, timeout=5)
    try:
        for name in SERVICES:
            owner = await admin.fetchval(
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1", name)
            assert owner == f"lfi_{name}"
            attributes = await admin.fetchrow(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication,"
                " rolbypassrls FROM pg_roles WHERE rolname = $1", f"lfi_{name}")
            assert tuple(attributes) == (True, False, False, False, False, False)
        public_create = await admin.fetchval(
            "SELECT has_schema_privilege('public', 'public', 'CREATE')")
        assert public_create is False
    finally:
        await admin.close()

    for name in SERVICES:
        conn = await connect_as(scratch_database, f"lfi_{name}")
        try:
            await conn.execute("CREATE TABLE deploy_probe (id int)")  # its own schema
            schema = await conn.fetchval(
                "SELECT table_schema FROM information_schema.tables"
                " WHERE table_name = 'deploy_probe'")
            assert schema == name, "search_path is not the service's schema"
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE TABLE public.deploy_probe (id int)")
            for other in SERVICES:
                if other == name:
                    continue
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(f"CREATE TABLE {other}.deploy_probe_{name} (id int)")
        finally:
            await conn.close()
    # Tables made by one role are out of every other role's reach.
    first_service, *others = SERVICES
    for other in others:
        conn = await connect_as(scratch_database, f"lfi_{other}")
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {first_service}.deploy_probe")
        finally:
            await conn.close()


async def test_refuses_to_run_without_every_password(scratch_database: str) -> None:
    passwords = all_passwords()
    passwords.pop(SERVICES[-1])
    result = run_roles_sql(scratch_database, passwords)
    assert result.returncode != 0
    assert f"{SERVICES[-1]}_password" in result.stderr


async def test_refuses_a_short_password(scratch_database: str) -> None:
    passwords = {**all_passwords(), SERVICES[0]: "short"}
    result = run_roles_sql(scratch_database, passwords)
    assert result.returncode != 0
    admin = await asyncpg.connect(scratch_database, timeout=5)
    try:
        made = await admin.fetchval(
            "SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1::text[])", SERVICES)
    finally:
        await admin.close()
    assert made == 0, "a failed run left schemas behind"
