"""Scenario 3: list a page of 50 referrals with filters.

Target: at least 70% of the reference's single-row reads per second. The filters are those
of status, school, subject kind and year group that the list takes; at least 50 referrals
match them (made first when earlier scenarios made too few), so every page is full. The
table is analysed before the measurement, as autovacuum keeps a table in service analysed: the
rows were written seconds earlier, and without statistics the planner may sort every row of
the school instead of reading the index.
"""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from lfi_bench.context import BenchContext, NotMeasured
from lfi_bench.load.generator import LoadSpec
from lfi_bench.results import Result, share_of
from lfi_bench.scenarios.common import (
    Scenario,
    error_figure,
    latency_figures,
    load_details,
    rate_name,
)
from lfi_bench.scenarios.referral_submit import OPERATION as SUBMIT_OPERATION
from lfi_bench.scenarios.referrals_api import (
    ReferralsTarget,
    list_query,
    referrals_target,
    require_submission_api,
)
from lfi_shared.auth.principal import Role

NAME = "referral_list"
TITLE = "List a page of 50 referrals with filters"
PAGE = 50
SHARE_OF_REFERENCE_READ = 0.70
OPERATION = "lfi_bench.scenarios.referrals_api:ListReferrals"


async def _page_size(target: ReferralsTarget, query: dict[str, str],
                     headers: dict[str, str]) -> int:
    async with httpx.AsyncClient(base_url=target.server.url, timeout=30,
                                 trust_env=False) as http:
        response = await http.get("/v1/referrals", params=query, headers=headers)
    if response.status_code != 200:
        raise NotMeasured(f"GET /v1/referrals answered {response.status_code}: "
                          f"{response.text[:300]}")
    items = response.json().get("items", [])
    return len(items)


async def _analyse(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE referrals.referrals"))
    finally:
        await engine.dispose()


async def run(ctx: BenchContext) -> Result:
    target = await referrals_target(ctx)
    query = list_query(target, PAGE)
    headers = target.bearer(ctx, Role.la_admin)
    found = await _page_size(target, query, headers)
    made = 0
    if found < PAGE:
        require_submission_api(target)
        made = PAGE - found + 10
        await ctx.load(LoadSpec(base_url=target.server.url, operation=SUBMIT_OPERATION,
                                params={"school_urn": target.school_urn, "phase": 3},
                                mode="burst", count=made,
                                headers=target.bearer(ctx, Role.school_staff)))
        found = await _page_size(target, query, headers)
    if found < PAGE:
        raise NotMeasured(f"only {found} referrals match the filters {query}")
    await _analyse(await ctx.env.schema_url("referrals"))
    spec = ctx.loop_spec(target.server.url, OPERATION, {"query": query}, headers=headers)
    report = await ctx.load(spec)
    reference = ctx.results.get("reference")
    base = reference.figure("read requests/s") if reference else None
    figures = [
        share_of(rate_name(""), report.overall.rate, "req/s", share=SHARE_OF_REFERENCE_READ,
                 base=base, base_label="reference read"),
        *latency_figures(report),
        error_figure(report),
    ]
    details = load_details(report, spec) | {"query": query, "items_per_page": found,
                                            "referrals_made_for_it": made}
    return Result.measured(NAME, TITLE, figures, details)


SCENARIO = Scenario(NAME, TITLE, run, needs=("reference",))
