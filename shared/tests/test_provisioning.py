"""A service's database role owns its schema and can read no other."""

from __future__ import annotations

import asyncpg
import pytest

from lfi_shared.db import to_asyncpg_dsn


async def test_service_role_cannot_read_another_services_schema(make_service_schema) -> None:
    alpha_url = await make_service_schema("prov_alpha")
    beta_url = await make_service_schema("prov_beta")

    beta = await asyncpg.connect(to_asyncpg_dsn(beta_url))
    try:
        await beta.execute("CREATE TABLE prov_beta.secrets (id int PRIMARY KEY, note text)")
        await beta.execute("INSERT INTO prov_beta.secrets VALUES (1, 'beta only')")
        assert await beta.fetchval("SELECT note FROM prov_beta.secrets") == "beta only"
    finally:
        await beta.close()

    alpha = await asyncpg.connect(to_asyncpg_dsn(alpha_url))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await alpha.fetch("SELECT * FROM prov_beta.secrets")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await alpha.execute("CREATE TABLE prov_beta.intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await alpha.execute("CREATE TABLE public.intruder (id int)")
        # Its own schema is its own.
        await alpha.execute("CREATE TABLE prov_alpha.mine (id int)")
    finally:
        await alpha.close()
