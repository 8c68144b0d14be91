"""A three-node NATS JetStream cluster on loopback, started from the nats-server binary, for the
test that the platform keeps working when one NATS node goes away.

Each node has its own client port, cluster (route) port, JetStream store and log; it solicits
routes to the other two. ``stop()``/``kill()`` and ``start()`` keep ports and store, so a node
that comes back rejoins with its state.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client

from lfi_shared.testing.nats import nats_server_binary

CLUSTER_NAME = "lfi"


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held open together, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class ClusterNode:
    """One ``nats-server -js`` of the cluster."""

    name: str
    store_dir: Path
    client_port: int
    cluster_port: int
    peer_cluster_ports: list[int]
    binary: str
    host: str = "127.0.0.1"
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.client_port}"

    @property
    def log_file(self) -> Path:
        return self.store_dir.parent / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        routes = ",".join(f"nats://{self.host}:{port}" for port in self.peer_cluster_ports)
        return [
            self.binary, "-js", "-sd", str(self.store_dir),
            "-a", self.host, "-p", str(self.client_port),
            "-n", self.name,
            "--cluster", f"nats://{self.host}:{self.cluster_port}",
            "--routes", routes,
            "--cluster_name", CLUSTER_NAME,
        ]

    def start(self) -> None:
        """Start the process (returns at once; see :meth:`NatsCluster.wait_ready`)."""
        if self.running:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(  # our own binary, fixed arguments
                self.command(), stdout=log, stderr=subprocess.STDOUT,
            )

    def accepts_clients(self) -> bool:
        if not self.running:
            return False
        try:
            with socket.create_connection((self.host, self.client_port), timeout=0.5) as sock:
                return sock.recv(4).startswith(b"INFO")
        except OSError:
            return False

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (a graceful shutdown, as Kubernetes does), SIGKILL if it lingers."""
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
        """SIGKILL: the node dies at once, as in a crash or a lost machine."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait(15)

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_file.read_text(errors="replace")[-chars:]
        return ""


class NatsCluster:
    """Three (or ``size``) JetStream nodes routed to one another on loopback."""

    def __init__(self, base_dir: Path, *, size: int = 3, binary: str | None = None) -> None:
        binary = binary or nats_server_binary()
        ports = free_ports(2 * size)
        client_ports, cluster_ports = ports[:size], ports[size:]
        self.nodes = [
            ClusterNode(
                name=f"lfi-n{i}",
                store_dir=base_dir / f"n{i}" / "store",
                client_port=client_ports[i],
                cluster_port=cluster_ports[i],
                peer_cluster_ports=[p for j, p in enumerate(cluster_ports) if j != i],
                binary=binary,
            )
            for i in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        """Every node's client URL: what a client is given, so it fails over between them."""
        return [node.url for node in self.nodes]

    def node_named(self, name: str) -> ClusterNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise LookupError(name)

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def close(self) -> None:
        """Stop every node (whatever state it is in)."""
        for node in self.nodes:
            try:
                node.stop(timeout_s=10)
            except Exception:
                node.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {n.name} ---\n{n.log_tail()}" for n in self.nodes)

    async def wait_accepting(self, timeout_s: float = 60.0) -> None:
        """Until every running node accepts client connections."""
        await poll(lambda: all(n.accepts_clients() for n in self.nodes if n.running),
                   timeout_s=timeout_s, what=f"every node accepting clients\n{self.logs()}")

    async def connect(self, **options: Any) -> Client:
        """A plain client given every node's URL."""
        settings: dict[str, Any] = {"connect_timeout": 2, "reconnect_time_wait": 0.2,
                                    "max_reconnect_attempts": -1}
        settings.update(options)
        return await nats.connect(self.urls, **settings)

    async def wait_meta_leader(self, nc: Client, timeout_s: float = 60.0) -> None:
        """Until JetStream answers account requests: the meta group has elected a leader."""

        async def jetstream_answers() -> bool:
            try:
                await nc.jetstream(timeout=2).account_info()
            except Exception:
                return False
            return True

        await poll(jetstream_answers, timeout_s=timeout_s,
                   what=f"a JetStream meta leader\n{self.logs()}")


async def poll(check: Callable[[], bool | Awaitable[bool]], *, timeout_s: float,
               interval_s: float = 0.1, what: str = "condition") -> None:
    """Until ``check`` (plain or async) is true; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(interval_s)
