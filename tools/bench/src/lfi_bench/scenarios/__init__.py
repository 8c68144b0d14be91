"""The scenarios of ``make bench``, in the order they run (each in a module of its own)."""

from __future__ import annotations

from lfi_bench.scenarios import (
    event_latency,
    events_timeline,
    formula_allocation,
    outbox_drain,
    placement_burst,
    reference,
    referral_gateway,
    referral_list,
    referral_submit,
)
from lfi_bench.scenarios.common import Scenario

SCENARIOS: tuple[Scenario, ...] = (
    reference.SCENARIO,
    referral_submit.SCENARIO,
    referral_gateway.SCENARIO,
    referral_list.SCENARIO,
    event_latency.SCENARIO,
    outbox_drain.SCENARIO,
    placement_burst.SCENARIO,
    formula_allocation.SCENARIO,
    events_timeline.SCENARIO,
)
