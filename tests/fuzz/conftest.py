"""The running platform (every service and the gateway as processes) for the fuzzing tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import pytest


def _stack_module() -> ModuleType:
    name = "lfi_test_stack"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("stack.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


stack = _stack_module()


@pytest.fixture(scope="session")
async def platform(test_database, nats_url, nats_namespace, local_keys,
                   tmp_path_factory) -> AsyncIterator[stack.RunningStack]:
    running = await stack.acquire(test_database=test_database, nats_url=nats_url,
                                  nats_namespace=nats_namespace, jwks_path=local_keys.jwks_path,
                                  tmp_path_factory=tmp_path_factory)
    try:
        yield running
    finally:
        await stack.release()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    stack.attach_log_tails(item, report)
    return report
