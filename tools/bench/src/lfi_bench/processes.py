"""The server processes a run starts: the services, the gateway and the reference app.

Each is started as ``make run`` starts it (``python -m lfi_<name> migrate``, ``seed``, then
``serve``, one uvicorn worker) on a free loopback port, with the run's database role, NATS
namespace and signing key, its output going to a log file. Each runs in a process group of
its own and dies with the bench (``PR_SET_PDEATHSIG``), so nothing outlives a run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from lfi_bench.environment import BenchEnvironment
from lfi_devstack.processes import die_with_parent, stop_process_group, tail

READY_TIMEOUT_S = 90.0
STEP_TIMEOUT_S = 300.0
DATA_SERVICES = ("referrals", "placements", "funding", "events")
# Rate limit given to the gateway under load: the bench is one client sending thousands of
# requests a second, which the production limit (per client, per minute) would refuse.
GATEWAY_BENCH_RATE_LIMIT = "1000000/second"


class ServiceUnavailable(RuntimeError):
    """A service could not be started; the message says why (with its log's tail)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """One long-running server child."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        stop_process_group(self.proc, timeout=10.0)


def _spawn(argv: Sequence[str], env: Mapping[str, str], log_path: Path, *,
           long_running: bool) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent() if long_running else None,
        )


async def run_step(name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
    """Run a one-shot command (migrate, seed) to completion.

    Raises:
        ServiceUnavailable: it failed or did not finish in time.
    """
    proc = _spawn(argv, env, log_path, long_running=False)
    try:
        code = await asyncio.to_thread(proc.wait, STEP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        stop_process_group(proc)
        raise ServiceUnavailable(f"{name}: `{' '.join(argv[1:])}` did not finish in "
                                 f"{STEP_TIMEOUT_S:.0f}s") from None
    except BaseException:
        stop_process_group(proc)
        raise
    if code != 0:
        raise ServiceUnavailable(f"{name}: `{' '.join(argv[1:])}` failed (exit {code}); "
                                 f"last lines of its log:\n{tail(log_path, 25)}")


async def start_server(name: str, argv: Sequence[str], env: Mapping[str, str], url: str,
                       log_path: Path, *, ready_path: str = "/health/ready") -> ServerProcess:
    """Start a server and wait until ``ready_path`` answers 200.

    Raises:
        ServiceUnavailable: it exited or was not ready in time (it is stopped then).
    """
    server = ServerProcess(name, url, _spawn(argv, env, log_path, long_running=True), log_path)
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer yet"
    try:
        async with httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
            while True:
                if not server.alive:
                    raise ServiceUnavailable(
                        f"{name} exited with code {server.proc.returncode} before it was ready; "
                        f"last lines of its log:\n{tail(log_path, 25)}")
                try:
                    response = await http.get(url + ready_path)
                    if response.status_code == 200:
                        return server
                    last = f"{response.status_code} {response.text[:300]}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(
                        f"{name} not ready after {READY_TIMEOUT_S:.0f}s (last answer: {last}); "
                        f"last lines of its log:\n{tail(log_path, 25)}")
                await asyncio.sleep(0.2)
    except BaseException:
        server.stop()
        raise


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def data_service_env(bench: BenchEnvironment, name: str, *, port: int, database_url: str,
                     extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of one data service, as the devstack builds it, in the run's own
    database and NATS namespace."""
    prefix = f"LFI_{name.upper()}_"
    env = _base_env()
    env.update({
        f"{prefix}HOST": "127.0.0.1",
        f"{prefix}PORT": str(port),
        f"{prefix}ENVIRONMENT": "development",
        f"{prefix}AUTH_JWKS_FILE": str(bench.keys.jwks_path.resolve()),
        f"{prefix}DATABASE_URL": database_url,
        f"{prefix}DB_SCHEMA": name,
        f"{prefix}NATS_URL": bench.nats_url,
        f"{prefix}NATS_NAMESPACE": bench.namespace,
    })
    env.update(extra or {})
    return env


async def start_data_service(bench: BenchEnvironment, name: str, *,
                             extra_env: Mapping[str, str] | None = None,
                             seed: bool = True) -> ServerProcess:
    """Migrate, seed and serve one data service in the run's database.

    Raises:
        ServiceUnavailable: a step failed or the service did not get ready.
    """
    port = free_port()
    database_url = await bench.schema_url(name)
    env = data_service_env(bench, name, port=port, database_url=database_url, extra=extra_env)
    log = bench.log_path(name)
    module = f"lfi_{name}"
    await run_step(name, [sys.executable, "-m", module, "migrate"], env, log)
    if seed:
        await run_step(name, [sys.executable, "-m", module, "seed"], env, log)
    return await start_server(name, [sys.executable, "-m", module, "serve"], env,
                              f"http://127.0.0.1:{port}", log)


async def start_gateway(bench: BenchEnvironment, upstreams: Mapping[str, str]) -> ServerProcess:
    """The gateway in front of ``upstreams`` (name → URL); others point at a closed port.

    Raises:
        ServiceUnavailable: it did not get ready.
    """
    port = free_port()
    env = _base_env()
    prefix = "LFI_GATEWAY_"
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: those routes answer 503
    env.update({
        f"{prefix}HOST": "127.0.0.1",
        f"{prefix}PORT": str(port),
        f"{prefix}ENVIRONMENT": "development",
        f"{prefix}AUTH_JWKS_FILE": str(bench.keys.jwks_path.resolve()),
        f"{prefix}PUBLIC_URL": f"http://127.0.0.1:{port}",
        f"{prefix}RATE_LIMIT": GATEWAY_BENCH_RATE_LIMIT,
    })
    for service in DATA_SERVICES:
        env[f"{prefix}{service.upper()}_URL"] = upstreams.get(service, closed)
    return await start_server("gateway", [sys.executable, "-m", "lfi_gateway", "serve"], env,
                              f"http://127.0.0.1:{port}", bench.log_path("gateway"),
                              ready_path="/health/live")


async def start_reference(bench: BenchEnvironment) -> ServerProcess:
    """The reference app (its table created first), served like a service.

    Raises:
        ServiceUnavailable: it did not get ready.
    """
    from lfi_bench.reference.app import SCHEMA, create_tables

    port = free_port()
    database_url = await bench.schema_url(SCHEMA)
    await create_tables(database_url)
    env = _base_env()
    prefix = "LFI_BENCH_REFERENCE_"
    env.update({
        f"{prefix}HOST": "127.0.0.1",
        f"{prefix}PORT": str(port),
        f"{prefix}ENVIRONMENT": "development",
        f"{prefix}DATABASE_URL": database_url,
    })
    return await start_server("reference", [sys.executable, "-m", "lfi_bench.reference", "serve"],
                              env, f"http://127.0.0.1:{port}", bench.log_path("reference"))
