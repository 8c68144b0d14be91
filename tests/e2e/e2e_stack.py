"""Every service as its own process, the way ``make run`` starts them, for end-to-end tests.

It reuses the devstack's machinery (:class:`lfi_devstack.stack.Stack` and its per-service
environment, :class:`lfi_devstack.processes.Child` for process groups and log files,
:class:`lfi_devstack.supervisor.Services` for readiness and an ordered stop), changing only what
a test run must not share with a developer's ``make run``:

* a database of its own in the test session's server, each service connecting as the test role
  of its schema (:func:`lfi_shared.testing.plugin.role_for_tests`), never ``lfi_<name>``;
* a NATS namespace of its own (``LFI_<NAME>_NATS_NAMESPACE``), on the shared server or a
  private one the test controls;
* free loopback ports, and the session's local signing keys (``LFI_<NAME>_AUTH_JWKS_FILE``).

Each service is migrated and seeded by its own command line (``python -m lfi_<name> migrate``,
``seed``), then served (``serve``); a test may SIGKILL one and start it again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from lfi_devstack.paths import LocalPaths, repo_root
from lfi_devstack.processes import Child, StartupError, tail
from lfi_devstack.stack import DATA_SERVICES, GATEWAY, SERVICES, Service, Stack
from lfi_devstack.supervisor import Services
from lfi_shared import provisioning
from lfi_shared.testing.plugin import TEST_ROLE_PASSWORD, TestDatabase, role_for_tests

# Stacks alive in this process, so that a failing test can show their services' logs.
ACTIVE: list[E2EStack] = []

SERVICE_BY_NAME: dict[str, Service] = {s.name: s for s in SERVICES}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class TestStack(Stack):
    """The devstack's :class:`Stack`, pointed at a test database, namespace and keys."""

    __test__ = False  # not a test class

    database_admin_dsn: str = ""
    nats_namespace: str = ""
    jwks_path: Path = Path()
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def database_admin_url(self) -> str:  # the test database, not ``lfi``
        return self.database_admin_dsn

    @property
    def jwks_file(self) -> Path:
        return self.jwks_path

    def database_url(self, service: Service) -> str:
        return provisioning.role_url(self.database_admin_dsn, role=role_for_tests(service.name),
                                     password=TEST_ROLE_PASSWORD)

    def service_env(self, service: Service) -> dict[str, str]:
        env = super().service_env(service)
        p = service.prefix
        env[f"{p}ENVIRONMENT"] = "test"
        env[f"{p}LOG_LEVEL"] = "INFO"
        if service.has_database:
            env[f"{p}DATABASE_URL"] = self.database_url(service)
            env[f"{p}NATS_NAMESPACE"] = self.nats_namespace
        env.update({k: v for k, v in self.extra_env.items() if k.startswith(p)})
        return env


class E2EStack:
    """One test module's stack: provision, migrate, seed, serve, kill, restart, stop."""

    def __init__(self, *, workdir: Path, database: TestDatabase, nats_url: str, namespace: str,
                 jwks_path: Path, services: Sequence[Service] = SERVICES,
                 extra_env: Mapping[str, str] | None = None) -> None:
        self.services = list(services)
        self.data_services = [s for s in self.services if s.has_database]
        self.database = database
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("LFI_")}
        base_env.update({k: v for k, v in os.environ.items()
                         if k.startswith(("LFI_TEST_", "LFI_DEV_"))})
        for service in SERVICES:  # every service gets a port (the gateway names them all)
            base_env[f"{service.prefix}HOST"] = "127.0.0.1"
            base_env[f"{service.prefix}PORT"] = str(free_port())
        self.stack = TestStack(
            repo=repo_root(Path(__file__).parent), local=LocalPaths(workdir), pg_admin_url="",
            nats_url=nats_url, password=TEST_ROLE_PASSWORD, base_env=base_env,
            database_admin_dsn=database.admin_dsn, nats_namespace=namespace,
            jwks_path=jwks_path, extra_env=dict(extra_env or {}))
        self.supervisor = QuietServices(self.stack)
        self._stop = threading.Event()

    # ---------------------------------------------------------------- addresses

    def url(self, name: str) -> str:
        return SERVICE_BY_NAME[name].url(self.stack.base_env)

    @property
    def gateway_url(self) -> str:
        return GATEWAY.url(self.stack.base_env)

    def log_path(self, name: str) -> Path:
        return self.stack.local.log(name)

    def database_url(self, name: str) -> str:
        return self.stack.database_url(SERVICE_BY_NAME[name])

    # ---------------------------------------------------------------- life cycle

    async def provision(self) -> None:
        for service in self.data_services:
            await provisioning.ensure_service_schema(
                self.database.admin_dsn, schema=service.name, role=role_for_tests(service.name),
                password=TEST_ROLE_PASSWORD)

    def migrate_and_seed(self) -> None:
        """``migrate`` then ``seed`` for each data service (services in parallel)."""

        def one(service: Service) -> str | None:
            for command in ("migrate", "seed"):
                child = Child(service.name, service.argv(command),
                              env=self.stack.service_env(service), cwd=self.stack.repo,
                              log_path=self.log_path(service.name), echo=False,
                              long_running=False)
                code = child.wait(self._stop)
                if code != 0:
                    return (f"`python -m {service.package} {command}` failed (exit {code}):\n"
                            f"{tail(child.log_path)}")
            return None

        with ThreadPoolExecutor(max_workers=len(self.data_services) or 1) as pool:
            failures = [r for r in pool.map(one, self.data_services) if r]
        if failures:
            raise StartupError("\n\n".join(failures))

    def start(self, names: Iterable[str] | None = None, *, timeout: float = 90.0) -> None:
        """Serve the named services (all by default) and wait for each /health/ready."""
        chosen = self._chosen(names)
        self.supervisor.start(chosen)
        self.supervisor.wait_ready(chosen, timeout=timeout, stop=self._stop)

    def kill(self, name: str) -> None:
        """SIGKILL the service's whole process group, as a crash would, and wait for it."""
        child = self.supervisor.children.pop(name)
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.proc.wait(10)
        child.stop(timeout=1)

    def wait_ready(self, names: Iterable[str] | None = None, *, timeout: float = 90.0) -> None:
        self.supervisor.wait_ready(self._chosen(names), timeout=timeout, stop=self._stop)

    def stop(self) -> None:
        self._stop.set()
        self.supervisor.stop()

    def _chosen(self, names: Iterable[str] | None) -> list[Service]:
        wanted = set(names) if names is not None else {s.name for s in self.services}
        return [s for s in self.services if s.name in wanted]

    # ---------------------------------------------------------------- diagnostics

    def logs(self, lines: int = 20) -> str:
        parts = []
        for service in self.services:
            text = tail(self.log_path(service.name), lines) or "(empty)"
            parts.append(f"----- {service.name} ({self.log_path(service.name)}) -----\n{text}")
        return "\n".join(parts)

    async def admin_connection(self) -> asyncpg.Connection:
        """An administrator's connection to the stack's database (for checks and faults)."""
        return await asyncpg.connect(self.database.admin_dsn)


class QuietServices(Services):
    """The devstack's supervisor, with the children's output kept to their log files only
    (a load test's request logs would flood the test output)."""

    def start(self, services: Sequence[Service]) -> None:
        for service in services:
            self.children[service.name] = Child(
                service.name, service.argv("serve"), env=self.stack.service_env(service),
                cwd=self.stack.repo, log_path=self.stack.local.log(service.name), echo=False,
            )


async def start_stack(*, workdir: Path, test_database: TestDatabase, tag: str, nats_url: str,
                      namespace: str, jwks_path: Path, services: Sequence[Service] = SERVICES,
                      extra_env: Mapping[str, str] | None = None) -> tuple[E2EStack, str]:
    """A database of the stack's own (``<session db>_<tag>``), then every service migrated,
    seeded, served and ready. Returns the stack and the database's name (drop it at the end).

    On a failure every service started is stopped and the error carries each log's tail.
    """
    name = f"{test_database.name}_{tag}"
    await provisioning.ensure_database(test_database.admin_dsn, name)
    admin = make_url(test_database.admin_dsn).set(database=name).render_as_string(
        hide_password=False)
    stack = E2EStack(workdir=workdir, database=TestDatabase(name=name, admin_dsn=admin),
                     nats_url=nats_url, namespace=namespace, jwks_path=jwks_path,
                     services=services, extra_env=extra_env)
    try:
        await stack.provision()
        await asyncio.to_thread(stack.migrate_and_seed)
        await asyncio.to_thread(stack.start)
    except BaseException as exc:
        await asyncio.to_thread(stack.stop)
        raise StartupError(f"the e2e stack did not start: {exc}\n{stack.logs()}") from exc
    ACTIVE.append(stack)
    return stack, name


async def stop_stack(stack: E2EStack, test_database: TestDatabase) -> None:
    await asyncio.to_thread(stack.stop)
    if stack in ACTIVE:
        ACTIVE.remove(stack)
    await provisioning.drop_database(test_database.admin_dsn, stack.database.name)


async def delete_streams(nats_url: str, namespace: str) -> None:
    """Delete the namespace's JetStream streams (on a shared server; best effort)."""
    import nats

    try:
        nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=1)
    except Exception:  # the server is gone: nothing to clean
        return
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name and info.config.name.startswith(namespace.upper() + "_"):
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()


# ------------------------------------------------------------------------- waiting


async def eventually(check, *, timeout: float = 120.0, interval: float = 0.5,
                     what: str = "condition"):
    """Await ``check()`` until it returns a truthy value (returned), or fail after ``timeout``
    with the last value or error it gave."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = await check()
            if value:
                return value
            last = value
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:.0f}s (last: {last!r})")
        await asyncio.sleep(interval)


def client(base_url: str, *, timeout: float = 30.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, trust_env=False)


__all__ = ["ACTIVE", "DATA_SERVICES", "GATEWAY", "E2EStack", "client",
           "delete_streams", "eventually", "free_port", "start_stack", "stop_stack"]
