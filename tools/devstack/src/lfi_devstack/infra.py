"""Ensure infrastructure: use the PostgreSQL and NATS that answer, start local ones where none does.

What the devstack starts it remembers, and :meth:`Infra.stop` stops exactly that (newest
first); servers it found running are never stopped or reconfigured.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from lfi_devstack.nats_server import PrivateNats
from lfi_devstack.paths import LocalPaths
from lfi_devstack.postgres import EmbeddedPostgres
from lfi_devstack.probe import Probe, Status, endpoint, probe_nats, probe_postgres
from lfi_devstack.processes import StartupError, say

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


class _Stoppable(Protocol):
    def stop(self, timeout: float = ...) -> None: ...


@dataclass(frozen=True)
class InfraConfig:
    pg_admin_url: str
    nats_url: str
    local: LocalPaths

    @classmethod
    def from_env(cls, local: LocalPaths) -> InfraConfig:
        """``LFI_PG_ADMIN_URL`` and ``LFI_NATS_URL``, with the local defaults."""
        return cls(
            pg_admin_url=os.environ.get("LFI_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL,
            nats_url=os.environ.get("LFI_NATS_URL") or DEFAULT_NATS_URL,
            local=local,
        )


class Infra:
    """PostgreSQL and NATS for one devstack command.

    As a context manager it ensures both on entry and stops what it started on exit.
    """

    def __init__(self, config: InfraConfig, *, stop: threading.Event | None = None) -> None:
        self.config = config
        self._stop = stop
        self.started: list[tuple[str, _Stoppable]] = []

    @property
    def pg_admin_url(self) -> str:
        return self.config.pg_admin_url

    @property
    def nats_url(self) -> str:
        return self.config.nats_url

    def ensure(self) -> None:
        """Probe both; start what does not answer; raise :class:`StartupError` otherwise."""
        self.ensure_postgres()
        self.ensure_nats()

    def ensure_postgres(self) -> None:
        url = self.config.pg_admin_url
        where = endpoint(url, 5432)
        probe = probe_postgres(url)
        if probe.ready:
            say(f"PostgreSQL at {where.host}:{where.port}: answering, using it")
            return
        _refuse_unusable("PostgreSQL", f"{where.host}:{where.port}", probe, "LFI_PG_ADMIN_URL")
        local = self.config.local
        server = EmbeddedPostgres(url, local.pgdata, local.log("postgres"))
        say(f"PostgreSQL at {where.host}:{where.port}: nothing answers, starting the embedded "
            f"one (data in {_short(local.pgdata)}, log in {_short(server.log_path)})")
        began = time.monotonic()
        server.start(stop=self._stop)
        self.started.append(("PostgreSQL", server))
        say(f"PostgreSQL started (pid {server.pid}) in {time.monotonic() - began:.1f}s")

    def ensure_nats(self) -> None:
        url = self.config.nats_url
        where = endpoint(url, 4222)
        probe = probe_nats(url)
        if probe.ready:
            say(f"NATS at {where.host}:{where.port}: JetStream answering, using it")
            return
        _refuse_unusable("NATS", f"{where.host}:{where.port}", probe, "LFI_NATS_URL")
        local = self.config.local
        server = PrivateNats(url, local.nats_store, local.log("nats"))
        say(f"NATS at {where.host}:{where.port}: nothing answers, starting nats-server -js "
            f"(store in {_short(local.nats_store)}, log in {_short(server.log_path)})")
        began = time.monotonic()
        server.start(stop=self._stop)
        self.started.append(("NATS", server))
        say(f"NATS started (pid {server.pid}) in {time.monotonic() - began:.1f}s")

    def stop(self) -> None:
        """Stop what this object started, newest first; nothing else."""
        while self.started:
            name, server = self.started.pop()
            say(f"stopping the {name} the devstack started")
            try:
                server.stop()
            except Exception as exc:  # keep stopping the rest
                say(f"could not stop {name}: {exc!r}")

    def __enter__(self) -> Infra:
        try:
            self.ensure()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _refuse_unusable(what: str, where: str, probe: Probe, variable: str) -> None:
    if probe.status is Status.UNUSABLE:
        raise StartupError(
            f"{what} at {where} answers but cannot be used: {probe.detail}\n"
            f"Fix that server, or point {variable} at another address (where nothing listens "
            f"the devstack starts its own)."
        )


def _short(path: os.PathLike[str]) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return os.fspath(path)
