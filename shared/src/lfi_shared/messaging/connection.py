"""NATS connections for the relay and the consumers: reconnect forever, never give up."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import nats
import structlog
from nats.aio.client import Client

from lfi_shared.settings import ServiceSettings

log = structlog.get_logger("lfi.messaging")

_DURABLE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


def nats_servers(url: str) -> list[str]:
    """The server URLs in ``url``: one, or several separated by commas (a cluster's nodes)."""
    return [part.strip() for part in url.split(",") if part.strip()]


async def connect_nats(url: str, *, name: str, connect_timeout_s: float = 2.0,
                       reconnect_wait_s: float = 1.0) -> Client:
    """A NATS client that, once connected, keeps reconnecting however long the server is away.

    Raises:
        TimeoutError: no server answered within a few connect timeouts (the caller retries).
    """

    async def on_error(exc: Exception) -> None:
        log.debug("nats_client_error", connection=name, error=repr(exc))

    async def on_disconnected() -> None:
        log.warning("nats_disconnected", connection=name)

    async def on_reconnected() -> None:
        log.info("nats_reconnected", connection=name)

    options: dict[str, Any] = {
        "name": name,
        "connect_timeout": connect_timeout_s,
        "reconnect_time_wait": reconnect_wait_s,
        "max_reconnect_attempts": -1,
        "allow_reconnect": True,
        "error_cb": on_error,
        "disconnected_cb": on_disconnected,
        "reconnected_cb": on_reconnected,
    }
    # With unlimited attempts nats.connect would wait for ever on a first connection; bound it
    # so that the caller can count the failure and back off.
    return await asyncio.wait_for(
        nats.connect(nats_servers(url), **options),
        timeout=3 * connect_timeout_s + reconnect_wait_s,
    )


async def close_quietly(client: Client | None) -> None:
    """Close a NATS client, ignoring a connection that is already gone."""
    if client is None or client.is_closed:
        return
    try:
        await asyncio.wait_for(client.close(), timeout=5)
    except Exception as exc:  # closing a broken connection must not stop a shutdown
        log.debug("nats_close_failed", error=repr(exc))


def durable_name(settings: ServiceSettings, consumer: str) -> str:
    """The JetStream durable name of a consumer inside the settings' namespace.

    Raises:
        ValueError: ``consumer`` has characters a durable name may not hold.
    """
    if not _DURABLE.match(consumer):
        raise ValueError(f"consumer names use letters, digits, '-' and '_': {consumer!r}")
    return f"{settings.nats_namespace}_{consumer}" if settings.nats_namespace else consumer
