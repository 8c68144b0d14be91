"""One pooled HTTP client per upstream service, opened with the app and closed with it."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from lfi_gateway.settings import Settings


class UpstreamNotStarted(RuntimeError):
    """The pool is used before the app started (or after it stopped)."""


class UpstreamPool:
    """The upstream services' base URLs and one keep-alive connection pool for each.

    A worker of the app (:func:`lfi_shared.app.create_service_app`): ``start`` opens the
    clients, ``stop`` closes them. Clients never read proxy settings from the environment:
    upstreams are reached directly.
    """

    def __init__(self, settings: Settings, base_urls: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.base_urls = dict(base_urls if base_urls is not None else settings.upstreams())
        self._clients: dict[str, httpx.AsyncClient] = {}

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self.base_urls)

    def default_timeout(self, read_s: float | None) -> httpx.Timeout:
        """Connect and pool waits short, the read (and write) wait ``read_s`` (``None``: none)."""
        connect = self.settings.upstream_connect_timeout_s
        write = self.settings.upstream_timeout_s
        return httpx.Timeout(connect=connect, read=read_s, write=write, pool=connect)

    async def start(self) -> None:
        limits = httpx.Limits(
            max_connections=self.settings.upstream_max_connections,
            max_keepalive_connections=self.settings.upstream_max_keepalive,
            keepalive_expiry=self.settings.upstream_keepalive_expiry_s,
        )
        for name, base_url in self.base_urls.items():
            self._clients[name] = httpx.AsyncClient(
                base_url=base_url,
                limits=limits,
                timeout=self.default_timeout(self.settings.upstream_timeout_s),
                trust_env=False,
                follow_redirects=False,
            )

    async def stop(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()

    def client(self, service: str) -> httpx.AsyncClient:
        """The pooled client of ``service``.

        Raises:
            UpstreamNotStarted: the pool is not open.
            KeyError: ``service`` is not an upstream.
        """
        if not self._clients:
            raise UpstreamNotStarted("the upstream pool is not started")
        return self._clients[service]
