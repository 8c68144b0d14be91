"""Creating databases, service roles and schemas (run as a PostgreSQL administrator).

The same steps ``deploy/postgres`` gives ops as SQL for a managed server: each service gets a
login role that owns one schema and is granted nothing else, so it cannot read another
service's data.
"""

from __future__ import annotations

import asyncio
import re

import asyncpg

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a safe PostgreSQL identifier: {name!r}")
    return f'"{name}"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def ensure_database(admin_dsn: str, database: str) -> None:
    """Create ``database`` if it does not exist (``admin_dsn`` points at any database)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f"CREATE DATABASE {_ident(database)}")
    finally:
        await conn.close()


async def drop_database(admin_dsn: str, database: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(database)} WITH (FORCE)")
    finally:
        await conn.close()


async def ensure_service_schema(admin_dsn: str, *, schema: str, role: str, password: str) -> None:
    """Create (or update) ``role`` as the owner of ``schema`` in the database of ``admin_dsn``.

    The role gets no rights anywhere else: no other schema grants it USAGE, and it may not
    create objects in ``public``.
    """
    for attempt in range(10):
        try:
            await _ensure_service_schema_once(admin_dsn, schema=schema, role=role, password=password)
            return
        except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError,
                asyncpg.InternalServerError):
            # Roles are cluster-wide: another database's provisioning may have created or
            # altered the same role at the same moment ("tuple concurrently updated").
            if attempt == 9:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))


async def _ensure_service_schema_once(admin_dsn: str, *, schema: str, role: str,
                                      password: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        async with conn.transaction():
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            await conn.execute(
                f"{verb} ROLE {_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                f"PASSWORD {_literal(password)}"
            )
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)} AUTHORIZATION {_ident(role)}")
            await conn.execute(f"ALTER SCHEMA {_ident(schema)} OWNER TO {_ident(role)}")
            await conn.execute(f"REVOKE ALL ON SCHEMA {_ident(schema)} FROM PUBLIC")
            await conn.execute(f"REVOKE CREATE ON SCHEMA public FROM {_ident(role)}")
            await conn.execute(f"ALTER ROLE {_ident(role)} SET search_path = {_ident(schema)}")
    finally:
        await conn.close()


def role_url(admin_dsn: str, *, role: str, password: str, driver: str = "asyncpg") -> str:
    """The SQLAlchemy URL for ``role`` on the same server and database as ``admin_dsn``."""
    from sqlalchemy.engine import make_url

    url = make_url(admin_dsn).set(drivername=f"postgresql+{driver}", username=role, password=password)
    return url.render_as_string(hide_password=False)
