"""The whole platform as real processes behind the gateway, for the fuzzing and authorization
tests (``tests/fuzz``, ``tests/authz``).

It reuses the devstack's machinery (:mod:`lfi_devstack.stack`, ``.supervisor``, ``.processes``):
the same service list, the same per-service environment, ``python -m lfi_<name> migrate`` and
``seed`` as child processes, then ``serve`` for every service and the gateway, readiness polled
on ``/health/ready``. What differs from ``make run`` is only what a test session must own:

* a database of its own (``<session database>_stack``), each service's schema owned by the
  test role :func:`~lfi_shared.testing.plugin.role_for_tests` (never ``lfi_<name>``), dropped
  at the end;
* the session's NATS namespace (its streams are deleted by the plugin at the end);
* free loopback ports for the gateway and every service;
* the session's local signing keys (``LFI_<NAME>_AUTH_JWKS_FILE``);
* logs in a temporary folder, echoed nowhere; their tails are attached to a failing test's
  report (see :func:`attach_log_tails`) and to any start-up error.

Both test folders load this file under the one module name ``lfi_test_stack`` (see their
``conftest.py``), so one stack serves the whole session however many folders ask for it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from lfi_devstack.paths import LocalPaths, repo_root
from lfi_devstack.processes import Child, StartupError, tail
from lfi_devstack.stack import DATA_SERVICES, GATEWAY, SERVICES, Service, Stack
from lfi_devstack.supervisor import Services
from lfi_shared import provisioning
from lfi_shared.testing.plugin import TEST_ROLE_PASSWORD, TestDatabase, role_for_tests

READY_TIMEOUT_S = 90.0
LOG_TAIL_LINES = 30


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class TestStack(Stack):
    """The devstack's :class:`Stack`, pointed at a test session's own database, NATS
    namespace, keys and ports."""

    __test__ = False

    database_admin: str = ""  # asyncpg DSN, administrator, on the stack's own database
    namespace: str = ""
    jwks_path: Path = Path()
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def database_admin_url(self) -> str:
        return self.database_admin

    @property
    def jwks_file(self) -> Path:
        return self.jwks_path

    def service_env(self, service: Service) -> dict[str, str]:
        env = super().service_env(service)
        p = service.prefix
        env[f"{p}ENVIRONMENT"] = "test"
        env[f"{p}LOG_LEVEL"] = "WARNING"
        if service.has_database:
            env[f"{p}DATABASE_URL"] = provisioning.role_url(
                self.database_admin, role=role_for_tests(service.name), password=TEST_ROLE_PASSWORD)
            env[f"{p}NATS_NAMESPACE"] = self.namespace
        else:
            env[f"{p}PUBLIC_URL"] = self.url(GATEWAY)
        env.update({k: v for k, v in self.extra_env.items() if k.startswith(p)})
        return env

    def url(self, service: Service) -> str:
        return service.url(self.base_env)

    async def provision_test_database(self) -> None:
        """Each service's schema in the stack's database, owned by its test role."""
        for service in DATA_SERVICES:
            await provisioning.ensure_service_schema(
                self.database_admin, schema=service.name, role=role_for_tests(service.name),
                password=TEST_ROLE_PASSWORD)


def run_steps(stack: TestStack, services: Sequence[Service], commands: Sequence[str]) -> None:
    """``python -m lfi_<name> <command>`` for each command, services in parallel (as the
    devstack's ``run_steps``, but echoing nothing: the output goes to each service's log)."""
    failures: list[str] = []

    def one(service: Service) -> None:
        for command in commands:
            child = Child(service.name, service.argv(command), env=stack.service_env(service),
                          cwd=stack.repo, log_path=stack.local.log(service.name), echo=False,
                          long_running=False)
            code = child.wait()
            if code != 0:
                failures.append(f"`python -m {service.package} {command}` failed (exit {code}); "
                                f"last lines of {child.log_path}:\n{tail(child.log_path)}")
                return

    threads = [threading.Thread(target=one, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise StartupError("\n\n".join(failures))


class QuietServices(Services):
    """The devstack's supervisor, with the children's output kept in their logs only (a
    pump thread writing to pytest's captured stdout could die with it and stall a child)."""

    def start(self, services: Sequence[Service]) -> None:
        for service in services:
            self.children[service.name] = Child(
                service.name, service.argv("serve"), env=self.stack.service_env(service),
                cwd=self.stack.repo, log_path=self.stack.local.log(service.name), echo=False,
            )


@dataclass
class RunningStack:
    """What the tests see: the URLs, the logs, and the stack itself."""

    stack: TestStack
    services: QuietServices
    database: TestDatabase
    parent_admin_dsn: str  # where the stack's database is dropped from
    started_in_s: float = 0.0

    @property
    def gateway_url(self) -> str:
        return self.stack.url(GATEWAY)

    def service_url(self, name: str) -> str:
        return self.stack.url(next(s for s in SERVICES if s.name == name))

    def log_tails(self, lines: int = LOG_TAIL_LINES) -> str:
        parts = []
        for service in SERVICES:
            path = self.stack.local.log(service.name)
            child = self.services.children.get(service.name)
            state = ("running" if child is not None and child.alive()
                     else f"exited {child.proc.returncode}" if child is not None else "not started")
            parts.append(f"--- {service.name} ({state}) {path}\n{tail(path, lines) or '(empty)'}")
        return "\n".join(parts)

    def dead(self) -> list[str]:
        return [name for name, child in self.services.children.items() if not child.alive()]


_shared: dict[str, object] = {}


async def start_stack(*, test_database: TestDatabase, nats_url: str, nats_namespace: str,
                      jwks_path: Path, log_dir: Path,
                      extra_env: Mapping[str, str] | None = None) -> RunningStack:
    """Provision the stack's database, migrate and seed every service, start them all and the
    gateway, and wait until each is ready. Stops whatever it started if any step fails."""
    began = time.monotonic()
    name = f"{test_database.name}_stack"
    await provisioning.ensure_database(test_database.admin_dsn, name)
    from sqlalchemy.engine import make_url

    admin = make_url(test_database.admin_dsn).set(database=name).render_as_string(hide_password=False)
    database = TestDatabase(name=name, admin_dsn=admin)
    ports = {s.prefix + "PORT": str(free_port()) for s in SERVICES}
    hosts = {s.prefix + "HOST": "127.0.0.1" for s in SERVICES}
    base_env = {**os.environ, **ports, **hosts}
    stack = TestStack(
        repo=repo_root(Path(__file__).parent), local=LocalPaths(log_dir), pg_admin_url="",
        nats_url=nats_url, password=TEST_ROLE_PASSWORD, base_env=base_env,
        database_admin=admin, namespace=nats_namespace, jwks_path=jwks_path,
        extra_env={
            # The fuzzer and the matrix send thousands of requests from one subject.
            "LFI_GATEWAY_RATE_LIMIT": "1000000/minute",
            "LFI_GATEWAY_OPENAPI_CACHE_TTL_S": "3600",
            **(extra_env or {}),
        },
    )
    services = QuietServices(stack)
    running = RunningStack(stack=stack, services=services, database=database,
                           parent_admin_dsn=test_database.admin_dsn)
    try:
        await stack.provision_test_database()
        await asyncio.to_thread(run_steps, stack, DATA_SERVICES, ("migrate", "seed"))
        services.start(SERVICES)
        await asyncio.to_thread(services.wait_ready, SERVICES, timeout=READY_TIMEOUT_S,
                                stop=threading.Event())
        await asyncio.to_thread(_wait_for_merged_document, running)
    except BaseException:
        await stop_stack(running)
        raise
    running.started_in_s = time.monotonic() - began
    return running


def _wait_for_merged_document(running: RunningStack, timeout_s: float = 30.0) -> None:
    """The gateway's merged document names every service once each answered it."""
    deadline = time.monotonic() + timeout_s
    last = ""
    with httpx.Client(timeout=5.0, trust_env=False) as http:
        while time.monotonic() < deadline:
            response = http.get(f"{running.gateway_url}/openapi.json")
            if response.status_code == 200:
                paths = response.json().get("paths", {})
                if all(any(p.startswith(prefix) for p in paths)
                       for prefix in ("/v1/referrals", "/v1/placements", "/v1/funding", "/v1/events")):
                    return
            last = f"{response.status_code} {response.text[:300]}"
            time.sleep(0.5)
    raise StartupError(f"the gateway's merged OpenAPI document is incomplete: {last}\n"
                       f"{running.log_tails()}")


async def stop_stack(running: RunningStack) -> None:
    """Stop every process (gateway first) and drop the stack's database."""
    try:
        await asyncio.to_thread(running.services.stop)
    finally:
        await provisioning.drop_database(running.parent_admin_dsn, running.database.name)


async def acquire(*, test_database: TestDatabase, nats_url: str, nats_namespace: str,
                  jwks_path: Path, tmp_path_factory: pytest.TempPathFactory) -> RunningStack:
    """The session's one stack: started by the first fixture that asks, stopped by the last
    to let go (:func:`release`). Each folder's conftest has a session fixture calling these
    (with the plugin's fixtures as arguments, so those outlive the stack)."""
    running = _shared.get("stack")
    if running is None:
        running = await start_stack(
            test_database=test_database, nats_url=nats_url, nats_namespace=nats_namespace,
            jwks_path=jwks_path.resolve(), log_dir=tmp_path_factory.mktemp("lfi-stack"),
        )
        _shared["stack"] = running
        _shared["users"] = 0
    _shared["users"] = int(_shared["users"]) + 1  # type: ignore[call-overload]
    assert isinstance(running, RunningStack)
    return running


async def release() -> None:
    _shared["users"] = int(_shared["users"]) - 1  # type: ignore[call-overload]
    if _shared["users"] == 0:
        running = _shared.pop("stack")
        assert isinstance(running, RunningStack)
        await stop_stack(running)


def attach_log_tails(item: pytest.Item, report: pytest.TestReport) -> None:
    """On a failing test, the tail of every service's log in the report."""
    running = _shared.get("stack")
    if report.failed and isinstance(running, RunningStack):
        dead = running.dead()
        header = f"dead services: {', '.join(dead)}\n" if dead else ""
        report.sections.append(("lfi stack: log tails", header + running.log_tails()))
