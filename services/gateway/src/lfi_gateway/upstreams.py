"""The connection pools to the upstream services, opened with the app and closed with it.

Proxied requests go through one ``aiohttp`` session per upstream: its keep-alive pool costs
a small, constant amount of CPU per request, where an ``httpx`` pool checks each of its
connections (a system call or two apiece) every time one is taken or given back. The
gateway's own few calls (readiness, OpenAPI documents) use an ``httpx`` client per upstream.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import httpx

from lfi_gateway.settings import Settings

# Headers aiohttp would add of its own accord: the upstream gets the client's, or none.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class UpstreamNotStarted(RuntimeError):
    """The pool is used before the app started (or after it stopped)."""


class UpstreamPool:
    """The upstream services' base URLs and their keep-alive connection pools.

    A worker of the app (:func:`lfi_shared.app.create_service_app`): ``start`` opens the
    pools, ``stop`` closes them. Proxy settings in the environment are never read: upstreams
    are reached directly. Responses are passed on as they came (never decompressed), and no
    cookie is kept between requests.
    """

    def __init__(self, settings: Settings, base_urls: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.base_urls = dict(base_urls if base_urls is not None else settings.upstreams())
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._proxy_timeouts: dict[float | None, aiohttp.ClientTimeout] = {}

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self.base_urls)

    def default_timeout(self, read_s: float | None) -> httpx.Timeout:
        """Connect and pool waits short, the read (and write) wait ``read_s`` (``None``: none)."""
        connect = self.settings.upstream_connect_timeout_s
        write = self.settings.upstream_timeout_s
        return httpx.Timeout(connect=connect, read=read_s, write=write, pool=connect)

    def proxy_timeout(self, read_s: float | None) -> aiohttp.ClientTimeout:
        """A proxied request's timeouts: a free connection (taken from the pool or newly
        opened) within ``upstream_connect_timeout_s``; then at most ``read_s`` (``None``: no
        limit) of silence from the upstream, from the moment the request is sent."""
        timeout = self._proxy_timeouts.get(read_s)
        if timeout is None:
            connect = self.settings.upstream_connect_timeout_s
            timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect,
                                            sock_read=read_s)
            self._proxy_timeouts[read_s] = timeout
        return timeout

    async def start(self) -> None:
        limits = httpx.Limits(
            max_connections=self.settings.upstream_max_connections,
            max_keepalive_connections=self.settings.upstream_max_keepalive,
            keepalive_expiry=self.settings.upstream_keepalive_expiry_s,
        )
        keepalive_s = self.settings.upstream_keepalive_expiry_s
        for name, base_url in self.base_urls.items():
            self._clients[name] = httpx.AsyncClient(
                base_url=base_url,
                limits=limits,
                timeout=self.default_timeout(self.settings.upstream_timeout_s),
                trust_env=False,
                follow_redirects=False,
            )
            connector = aiohttp.TCPConnector(
                limit=self.settings.upstream_max_connections,
                keepalive_timeout=keepalive_s if keepalive_s > 0 else None,
                force_close=keepalive_s <= 0,
            )
            self._sessions[name] = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_NO_AUTO_HEADERS,
                auto_decompress=False,
                trust_env=False,
                timeout=self.proxy_timeout(self.settings.upstream_timeout_s),
            )

    async def stop(self) -> None:
        clients, self._clients = self._clients, {}
        sessions, self._sessions = self._sessions, {}
        for client in clients.values():
            await client.aclose()
        for session in sessions.values():
            await session.close()

    def client(self, service: str) -> httpx.AsyncClient:
        """The ``httpx`` client of ``service`` (the gateway's own calls: readiness, OpenAPI).

        Raises:
            UpstreamNotStarted: the pool is not open.
            KeyError: ``service`` is not an upstream.
        """
        if not self._clients:
            raise UpstreamNotStarted("the upstream pool is not started")
        return self._clients[service]

    def session(self, service: str) -> aiohttp.ClientSession:
        """The session proxied requests to ``service`` go through.

        Raises:
            UpstreamNotStarted: the pool is not open.
            KeyError: ``service`` is not an upstream.
        """
        if not self._sessions:
            raise UpstreamNotStarted("the upstream pool is not started")
        return self._sessions[service]
