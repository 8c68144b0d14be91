"""End-to-end tests: on a failure, the tail of every running service's log is added to the
report (the services run as processes of their own, so their output is not captured)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_stack import ACTIVE


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed and ACTIVE:
        for stack in ACTIVE:
            report.sections.append((f"service logs ({stack.database.name})", stack.logs()))
