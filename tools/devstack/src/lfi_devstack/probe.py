"""Is a PostgreSQL or a NATS JetStream server answering at a URL?

A probe tells three cases apart: nothing listens (so the devstack may start its own), a
usable server, and a server that answers but cannot be used (wrong password, JetStream off),
which must be reported rather than papered over by starting a second server.
"""

from __future__ import annotations

import asyncio
import enum
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Status(enum.Enum):
    DOWN = "nothing listens"
    READY = "ready"
    UNUSABLE = "answers but is unusable"


@dataclass(frozen=True)
class Probe:
    status: Status
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.status is Status.READY

    @property
    def down(self) -> bool:
        return self.status is Status.DOWN


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def is_local(self) -> bool:
        return self.host in LOCAL_HOSTS


def endpoint(url: str, default_port: int) -> Endpoint:
    """Host and port of a ``postgresql://`` or ``nats://`` URL."""
    parts = urlsplit(url)
    return Endpoint(parts.hostname or "127.0.0.1", parts.port or default_port)


def libpq_url(url: str) -> str:
    """A SQLAlchemy-style ``postgresql+driver://`` URL as libpq understands it."""
    return re.sub(r"^postgres(ql)?\+[a-z0-9_]+://", "postgresql://", url)


def tcp_listening(where: Endpoint, timeout: float = 1.0) -> bool:
    """True when something accepts a TCP connection at ``where``."""
    try:
        with socket.create_connection((where.host, where.port), timeout=timeout):
            return True
    except OSError:
        return False


def probe_postgres(admin_url: str, timeout: float = 3.0) -> Probe:
    """Connect with ``admin_url`` and run ``SELECT 1``."""
    if not tcp_listening(endpoint(admin_url, 5432)):
        return Probe(Status.DOWN)
    try:
        with psycopg.connect(libpq_url(admin_url), connect_timeout=max(1, round(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return Probe(Status.UNUSABLE, str(exc).strip())
    return Probe(Status.READY)


def probe_nats(url: str, timeout: float = 3.0) -> Probe:
    """Connect to NATS at ``url`` and ask JetStream for the account's info."""
    if not tcp_listening(endpoint(url, 4222)):
        return Probe(Status.DOWN)
    return asyncio.run(_probe_jetstream(url, seconds=timeout))


async def _probe_jetstream(url: str, *, seconds: float) -> Probe:
    import nats
    import nats.errors
    import nats.js.errors

    async def quiet(_: Exception) -> None:
        return None

    try:
        nc = await nats.connect(
            url,
            connect_timeout=max(1, round(seconds)),
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=quiet,
        )
    except Exception as exc:  # nats-py raises assorted OSError/timeout/protocol errors
        return Probe(Status.UNUSABLE, f"NATS does not accept a connection: {exc!r}")
    try:
        await nc.jetstream(timeout=seconds).account_info()
    except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError,
            nats.errors.TimeoutError):
        return Probe(Status.UNUSABLE, "JetStream is not enabled (start nats-server with -js)")
    except nats.js.errors.APIError as exc:
        return Probe(Status.UNUSABLE, f"JetStream account info failed: {exc}")
    finally:
        await nc.close()
    return Probe(Status.READY)
