"""The reference: one-row inserts, then single-row reads, on the minimal reference app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from lfi_bench.context import BenchContext
from lfi_bench.load.http import HttpSession
from lfi_bench.reference.app import SCHEMA
from lfi_bench.results import Result, info
from lfi_bench.scenarios.common import (
    Scenario,
    error_figure,
    latency_figures,
    load_details,
    rate_name,
)
from lfi_shared.db import to_asyncpg_dsn

NAME = "reference"
TITLE = "Reference: minimal FastAPI + SQLAlchemy endpoint"
INSERT = "insert"
READ = "read"
READ_SAMPLE = 1000


class InsertRow:
    """``POST /reference/rows``: one row inserted in one transaction."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.tag = str(params.get("tag", "bench"))

    async def __call__(self, http: HttpSession, worker: int, iteration: int) -> bool:
        reply = await http.request(INSERT, "POST", "/reference/rows",
                                   json_body={"name": f"{self.tag}-{worker}-{iteration}"},
                                   expect=(201,))
        return reply.ok


class ReadRow:
    """``GET /reference/rows/{id}``: one row read by its key, the ids taken in turn."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.ids = [str(i) for i in params["ids"]]

    async def __call__(self, http: HttpSession, worker: int, iteration: int) -> bool:
        row_id = self.ids[(worker * 7919 + iteration) % len(self.ids)]
        reply = await http.request(READ, "GET", f"/reference/rows/{row_id}")
        return reply.ok


async def _row_ids(database_url: str, limit: int) -> list[str]:
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(f'SELECT id FROM "{SCHEMA}".rows LIMIT $1', limit)  # noqa: S608
    finally:
        await conn.close()
    return [str(row["id"]) for row in rows]


async def run(ctx: BenchContext) -> Result:
    server = await ctx.reference()
    insert_spec = ctx.loop_spec(server.url, f"{__name__}:InsertRow", {"tag": "load"})
    inserts = await ctx.load(insert_spec)
    ids = await _row_ids(await ctx.env.schema_url(SCHEMA), READ_SAMPLE)
    read_spec = ctx.loop_spec(server.url, f"{__name__}:ReadRow", {"ids": ids})
    reads = await ctx.load(read_spec)
    if not ids:
        raise RuntimeError("the insert load left no row to read: " +
                           "; ".join(inserts.error_samples))
    figures = [
        info(rate_name(INSERT), inserts.overall.rate, "req/s"),
        *latency_figures(inserts, INSERT),
        error_figure(inserts, INSERT),
        info(rate_name(READ), reads.overall.rate, "req/s"),
        *latency_figures(reads, READ),
        error_figure(reads, READ),
    ]
    return Result.measured(NAME, TITLE, figures, {
        INSERT: load_details(inserts, insert_spec),
        READ: load_details(reads, read_spec) | {"rows_read_from": len(ids)},
    })


SCENARIO = Scenario(NAME, TITLE, run)
