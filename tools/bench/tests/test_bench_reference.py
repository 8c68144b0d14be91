"""A very short run of the reference scenario against the real PostgreSQL.

It goes the way ``make bench`` goes: a database and roles of the run's own, the reference app
served by uvicorn in a child process, the load generator in another; then everything removed.
"""

from __future__ import annotations

import os

import asyncpg

from lfi_bench.context import BenchContext, Options
from lfi_bench.environment import BenchEnvironment
from lfi_bench.results import Status
from lfi_bench.scenarios import reference


def _admin_url() -> str:
    return os.environ.get("LFI_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _nats_url() -> str:
    return os.environ.get("LFI_TEST_NATS_URL", "nats://127.0.0.1:4222")


async def test_a_one_second_reference_run_serves_requests_without_error() -> None:
    env = await BenchEnvironment.create(_admin_url(), _nats_url())
    ctx = BenchContext(env=env, options=Options(duration_s=1.0, warmup_s=0.2, concurrency=4),
                       say=lambda _: None)
    try:
        result = await reference.run(ctx)
    finally:
        ctx.stop_servers()
        problems = await env.close()

    assert result.status is Status.MEASURED
    for kind in ("insert", "read"):
        rate = result.figure(f"{kind} requests/s")
        errors = result.figure(f"{kind} errors")
        assert rate is not None and rate.value > 0
        assert errors is not None and errors.value == 0
    assert problems == []


async def test_the_run_removes_its_database_and_roles() -> None:
    env = await BenchEnvironment.create(_admin_url(), _nats_url())
    await env.schema_url("reference")
    role = env.role_name("reference")

    assert await env.close() == []

    conn = await asyncpg.connect(env.admin_url)
    try:
        assert await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1",
                                   env.database) is None
        assert await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role) is None
    finally:
        await conn.close()
