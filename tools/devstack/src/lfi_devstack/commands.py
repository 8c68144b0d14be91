"""The devstack's commands: ``run``, ``test``, ``migrate`` and ``ensure-infra``.

Each ensures PostgreSQL and NATS first (starting local ones where none answers) and, however
it ends (success, failure, Ctrl-C, SIGTERM), stops exactly what it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lfi_devstack.infra import Infra, InfraConfig
from lfi_devstack.paths import LocalPaths, repo_root
from lfi_devstack.probe import Endpoint, tcp_listening
from lfi_devstack.processes import Interrupted, StartupError, say
from lfi_devstack.signals import StopSignals

if TYPE_CHECKING:
    from lfi_devstack.stack import Stack
    from lfi_devstack.supervisor import Services

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def _context() -> tuple[Path, LocalPaths]:
    repo = repo_root()
    return repo, LocalPaths.under(repo)


def _stack(repo: Path, local: LocalPaths, infra: Infra) -> Stack:
    # Imported here: the services' stack (SQLAlchemy, settings) costs seconds that `test`
    # does not need to pay.
    from lfi_devstack.stack import Stack, dev_password

    return Stack(repo=repo, local=local, pg_admin_url=infra.pg_admin_url,
                 nats_url=infra.nats_url, password=dev_password(os.environ))


def _fail(exc: StartupError) -> int:
    say(f"error: {exc}", out=sys.stderr)
    return EXIT_FAILED


def run() -> int:
    """``make run``: the whole stack in the foreground until Ctrl-C or a service dies."""
    from lfi_devstack.stack import DATA_SERVICES, SERVICES
    from lfi_devstack.supervisor import Services, run_steps

    repo, local = _context()
    began = time.monotonic()
    with StopSignals() as signals:
        infra = Infra(InfraConfig.from_env(local), stop=signals.event)
        services: Services | None = None
        try:
            infra.ensure()
            stack = _stack(repo, local, infra)
            _refuse_taken_ports(stack)
            stack.ensure_keys()
            stack.provision()
            say(f"database lfi: roles and schemas ready for "
                f"{', '.join(s.name for s in DATA_SERVICES)}")
            for service in SERVICES:
                stack.local.log(service.name).write_bytes(b"")  # each run's logs start fresh
            run_steps(stack, DATA_SERVICES, ("migrate", "seed"), signals.event)
            services = Services(stack)
            services.start(SERVICES)
            services.wait_ready(SERVICES, timeout=_ready_timeout(), stop=signals.event)
            _banner(stack, time.monotonic() - began)
            while not signals.event.wait(0.5):
                exited = services.first_exited()
                if exited is not None:
                    say(f"error: {exited.name} exited with code {exited.proc.returncode}; "
                        f"stopping everything (its log: {exited.log_path})", out=sys.stderr)
                    return EXIT_FAILED
            say(f"{signals.received_name} received: stopping")
            return 0
        except StartupError as exc:
            return _fail(exc)
        except Interrupted:
            say(f"{signals.received_name} received during start-up: stopping")
            return EXIT_INTERRUPTED
        finally:
            if services is not None:
                services.stop()
            infra.stop()
            say("stopped")


def test(pytest_args: Sequence[str]) -> int:
    """``make test``: pytest against the PostgreSQL and NATS that answer (or private ones).

    Returns pytest's exit code. Ctrl-C reaches pytest straight from the terminal (it shares
    the terminal's process group) so it can tear its fixtures down; a SIGTERM to the devstack
    is passed on to pytest as SIGINT for the same reason.
    """
    repo, local = _context()
    pytest: subprocess.Popen[bytes] | None = None

    def forward(signum: int) -> None:
        if signum == signal.SIGTERM and pytest is not None and pytest.poll() is None:
            pytest.send_signal(signal.SIGINT)

    with StopSignals(on_signal=forward) as signals:
        infra = Infra(InfraConfig.from_env(local), stop=signals.event)
        try:
            infra.ensure()
            env = dict(os.environ)
            env["LFI_TEST_PG_ADMIN_URL"] = infra.pg_admin_url
            env["LFI_TEST_NATS_URL"] = infra.nats_url
            began = time.monotonic()
            pytest = subprocess.Popen(  # noqa: S603 — the venv's pytest with the user's args
                [sys.executable, "-m", "pytest", *pytest_args], cwd=repo, env=env,
            )
            code = pytest.wait()
            say(f"pytest exited with {code} after {time.monotonic() - began:.1f}s")
            return code if code >= 0 else 128 - code  # killed by a signal: the shell's code
        except StartupError as exc:
            return _fail(exc)
        except Interrupted:
            return EXIT_INTERRUPTED
        finally:
            infra.stop()


def migrate() -> int:
    """``make migrate``: database ``lfi``, the service roles and schemas, every migration."""
    from lfi_devstack.stack import DATA_SERVICES
    from lfi_devstack.supervisor import run_steps

    repo, local = _context()
    with StopSignals() as signals:
        infra = Infra(InfraConfig.from_env(local), stop=signals.event)
        try:
            infra.ensure()
            stack = _stack(repo, local, infra)
            stack.ensure_keys()
            stack.provision()
            run_steps(stack, DATA_SERVICES, ("migrate",), signals.event)
            say("every service's schema is at its latest revision")
            return 0
        except StartupError as exc:
            return _fail(exc)
        except Interrupted:
            return EXIT_INTERRUPTED
        finally:
            infra.stop()


def ensure_infra() -> int:
    """Make sure PostgreSQL and NATS answer; hold any the devstack started until Ctrl-C."""
    _, local = _context()
    with StopSignals() as signals:
        infra = Infra(InfraConfig.from_env(local), stop=signals.event)
        try:
            infra.ensure()
            print(f"LFI_PG_ADMIN_URL={infra.pg_admin_url}")
            print(f"LFI_NATS_URL={infra.nats_url}", flush=True)
            if infra.started:
                say("holding what the devstack started until Ctrl-C (or SIGTERM)")
                while not signals.event.wait(0.5):
                    pass
                say(f"{signals.received_name} received: stopping")
            return 0
        except StartupError as exc:
            return _fail(exc)
        except Interrupted:
            return EXIT_INTERRUPTED
        finally:
            infra.stop()


def _ready_timeout() -> float:
    return float(os.environ.get("LFI_DEV_READY_TIMEOUT") or 60)


def _refuse_taken_ports(stack: Stack) -> None:
    from lfi_devstack.stack import SERVICES

    taken = [
        f"{s.name} port {s.port(stack.base_env)} (set {s.prefix}PORT to move it)"
        for s in SERVICES
        if tcp_listening(Endpoint(s.host(stack.base_env), s.port(stack.base_env)), timeout=0.5)
    ]
    if taken:
        raise StartupError("already in use (another `make run`?): " + "; ".join(taken))


def _banner(stack: Stack, seconds: float) -> None:
    from lfi_devstack.stack import DATA_SERVICES, GATEWAY

    env = stack.base_env
    gateway = GATEWAY.url(env)
    lines = [
        f"The Local First Inclusion stack is up ({seconds:.1f}s).",
        f"  gateway     {gateway}   API docs: {gateway}/docs",
        *(f"  {s.name:<11} {s.url(env)}   docs: {s.url(env)}/docs" for s in DATA_SERVICES),
        "A token:  make token ROLE=la_admin   (also URN=123456 for school_staff, "
        "ZONE=north for tas_practitioner)",
        f'  curl -H "Authorization: Bearer $(make -s token ROLE=la_admin)" '
        f"{gateway}/v1/referrals",
        "Logs: .local/logs/<service>.log. Ctrl-C stops everything the devstack started.",
    ]
    rule = "-" * 72
    for line in (rule, *lines, rule):
        say(line)
