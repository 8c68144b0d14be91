"""Scenario 2: the same submission as scenario 1, through the gateway.

Target: at least 60% of scenario 1's requests per second. The gateway runs with the
services' settings except its per-client rate limit, raised so that the bench (one client)
is not refused. The gateway's overhead is shown as the difference of the p50 latencies.
"""

from __future__ import annotations

from lfi_bench.context import BenchContext, NotMeasured
from lfi_bench.results import Result, Status, info, share_of
from lfi_bench.scenarios.common import (
    Scenario,
    error_figure,
    latency_figures,
    load_details,
    probe_operation,
    rate_name,
)
from lfi_bench.scenarios.referral_submit import NAME as DIRECT
from lfi_bench.scenarios.referral_submit import OPERATION
from lfi_bench.scenarios.referrals_api import referrals_target, require_submission_api
from lfi_shared.auth.principal import Role

NAME = "referral_submit_gateway"
TITLE = "Submit a referral through the gateway"
SHARE_OF_DIRECT = 0.60


async def run(ctx: BenchContext) -> Result:
    direct = ctx.results.get(DIRECT)
    if direct is not None and direct.status is Status.NOT_MEASURED:
        raise NotMeasured(f"scenario {DIRECT} was not measured: {direct.reason}")
    target = await referrals_target(ctx)
    require_submission_api(target)
    gateway = await ctx.gateway()
    spec = ctx.loop_spec(gateway.url, OPERATION, {"school_urn": target.school_urn, "phase": 2},
                         headers=target.bearer(ctx, Role.school_staff))
    await probe_operation(spec, "create and submit through the gateway")
    report = await ctx.load(spec)
    base = direct.figure(rate_name("")) if direct else None
    figures = [
        share_of(rate_name(""), report.overall.rate, "req/s", share=SHARE_OF_DIRECT,
                 base=base, base_label="direct (referral_submit)"),
        *latency_figures(report),
        error_figure(report),
    ]
    direct_p50 = direct.figure("p50") if direct else None
    gateway_p50 = next((f for f in figures if f.name == "p50"), None)
    if direct_p50 is not None and gateway_p50 is not None:
        figures.insert(1, info("gateway overhead at p50", gateway_p50.value - direct_p50.value,
                               "ms"))
    return Result.measured(NAME, TITLE, figures, load_details(report, spec))


SCENARIO = Scenario(NAME, TITLE, run, needs=(DIRECT,))
