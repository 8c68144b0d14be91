"""Running the services: migrate and seed, start, wait until ready, watch, stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from lfi_devstack.processes import Child, Interrupted, StartupError, say, tail
from lfi_devstack.stack import Service, Stack


def run_steps(stack: Stack, services: Sequence[Service], commands: Sequence[str],
              stop: threading.Event) -> None:
    """Run ``python -m lfi_<name> <command>`` for each command in order, services in parallel.

    Raises :class:`StartupError` naming every service whose step failed, with its log's tail.
    """

    def one(service: Service) -> str | None:
        for command in commands:
            began = time.monotonic()
            child = Child(service.name, service.argv(command), env=stack.service_env(service),
                          cwd=stack.repo, log_path=stack.local.log(service.name),
                          long_running=False)
            code = child.wait(stop)
            if code != 0:
                return (f"`python -m {service.package} {command}` failed (exit {code}); "
                        f"last lines of {child.log_path}:\n{tail(child.log_path)}")
            say(f"{service.name}: {command} done in {time.monotonic() - began:.1f}s")
        return None

    with ThreadPoolExecutor(max_workers=len(services) or 1) as pool:
        results = list(pool.map(one, services))
    if stop.is_set():
        raise Interrupted("steps")
    failures = [r for r in results if r]
    if failures:
        raise StartupError("\n\n".join(failures))


class Services:
    """The long-running service processes of one ``run``."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.children: dict[str, Child] = {}
        self._last_answer: dict[str, str] = {}

    def start(self, services: Sequence[Service]) -> None:
        for service in services:
            self.children[service.name] = Child(
                service.name, service.argv("serve"), env=self.stack.service_env(service),
                cwd=self.stack.repo, log_path=self.stack.local.log(service.name),
            )

    def wait_ready(self, services: Sequence[Service], *, timeout: float,
                   stop: threading.Event) -> None:
        """Poll every service's ``/health/ready`` until each answers 200.

        Raises :class:`StartupError` naming each service that exited or did not get ready,
        with the tail of its log and its last readiness answer.
        """
        pending = {s.name: s for s in services}
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0, trust_env=False) as http:
            while pending:
                if stop.is_set():
                    raise Interrupted("waiting for readiness")
                for name, service in list(pending.items()):
                    child = self.children[name]
                    if not child.alive():
                        raise StartupError(self._explain(
                            name, f"exited with code {child.proc.returncode} before it was ready"))
                    if self._ready(http, service):
                        say(f"{name} ready at {service.url(self.stack.base_env)}")
                        del pending[name]
                if pending and time.monotonic() > deadline:
                    raise StartupError("\n\n".join(
                        self._explain(name, f"not ready after {timeout:.0f}s") for name in pending))
                time.sleep(0.2)

    def first_exited(self) -> Child | None:
        for child in self.children.values():
            if not child.alive():
                return child
        return None

    def stop(self) -> None:
        """Stop every service: the gateway first, then the rest together."""
        gateway = self.children.pop("gateway", None)
        if gateway is not None:
            gateway.stop()
        for child in self.children.values():
            child.terminate()
        for child in self.children.values():
            child.stop()
        self.children.clear()

    def _ready(self, http: httpx.Client, service: Service) -> bool:
        url = f"{service.url(self.stack.base_env)}/health/ready"
        try:
            response = http.get(url)
        except httpx.HTTPError as exc:
            self._last_answer[service.name] = f"GET {url}: {exc.__class__.__name__}"
            return False
        self._last_answer[service.name] = f"GET {url}: {response.status_code} {response.text[:500]}"
        return response.status_code == 200

    def _explain(self, name: str, what: str) -> str:
        child = self.children[name]
        answer = self._last_answer.get(name, "no answer yet")
        return (f"service {name} {what}.\n  last readiness answer: {answer}\n"
                f"  last lines of {child.log_path}:\n{tail(child.log_path) or '(empty)'}")
