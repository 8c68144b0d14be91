"""Scenario 1: submit a referral, straight to the referrals service.

Target: at least 70% of the reference's insert requests per second. Each submission is a
create and a submit (see :mod:`lfi_bench.scenarios.referrals_api`); the rate counts both.
"""

from __future__ import annotations

from lfi_bench.context import BenchContext
from lfi_bench.results import Result, info, share_of
from lfi_bench.scenarios.common import (
    Scenario,
    error_figure,
    latency_figures,
    load_details,
    probe_operation,
    rate_name,
)
from lfi_bench.scenarios.referrals_api import (
    CREATE,
    SUBMIT,
    referrals_target,
    require_submission_api,
)
from lfi_shared.auth.principal import Role

NAME = "referral_submit"
TITLE = "Submit a referral (create + submit), straight to the service"
SHARE_OF_REFERENCE = 0.70
OPERATION = "lfi_bench.scenarios.referrals_api:SubmitReferral"


async def run(ctx: BenchContext) -> Result:
    target = await referrals_target(ctx)
    require_submission_api(target)
    spec = ctx.loop_spec(target.server.url, OPERATION,
                         {"school_urn": target.school_urn, "phase": 1},
                         headers=target.bearer(ctx, Role.school_staff))
    await probe_operation(spec, "create and submit")
    report = await ctx.load(spec)
    reference = ctx.results.get("reference")
    base = reference.figure("insert requests/s") if reference else None
    figures = [
        share_of(rate_name(""), report.overall.rate, "req/s", share=SHARE_OF_REFERENCE,
                 base=base, base_label="reference insert"),
        info("submissions/s", report.operations_per_s, "/s"),
        *latency_figures(report),
        error_figure(report),
    ]
    details = load_details(report, spec) | {
        "school_urn": target.school_urn,
        "per_request": {label: report.by_label[label].to_json() for label in (CREATE, SUBMIT)
                        if label in report.by_label},
    }
    return Result.measured(NAME, TITLE, figures, details)


SCENARIO = Scenario(NAME, TITLE, run, needs=("reference",))
