"""What a scenario is given: the run's environment, options, servers and earlier results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from lfi_bench.environment import BenchEnvironment
from lfi_bench.load.generator import LoadReport, LoadSpec
from lfi_bench.load.remote import run_load
from lfi_bench.processes import (
    ServerProcess,
    ServiceUnavailable,
    start_data_service,
    start_gateway,
    start_reference,
)
from lfi_bench.results import Result
from lfi_shared.auth.principal import Role


class NotMeasured(Exception):
    """Raised by a scenario that cannot run yet; the message is the reason reported."""


@dataclass(frozen=True)
class Options:
    duration_s: float = 10.0
    warmup_s: float = 1.0
    concurrency: int = 16


@dataclass
class BenchContext:
    """Shared by the scenarios of one run: servers are started on first use and kept."""

    env: BenchEnvironment
    options: Options
    results: dict[str, Result] = field(default_factory=dict)
    servers: dict[str, ServerProcess] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    say: Callable[[str], None] = print

    async def _server(self, name: str, start: Callable[[], Awaitable[ServerProcess]]
                      ) -> ServerProcess:
        running = self.servers.get(name)
        if running is not None and running.alive:
            return running
        if name in self.failures:
            raise ServiceUnavailable(self.failures[name])
        self.say(f"starting {name} …")
        try:
            server = await start()
        except ServiceUnavailable as exc:
            self.failures[name] = str(exc)
            raise
        self.servers[name] = server
        self.say(f"{name} ready at {server.url} (log {server.log_path})")
        return server

    async def data_service(self, name: str, extra_env: dict[str, str] | None = None
                           ) -> ServerProcess:
        """A data service (migrated and seeded in the run's database).

        Raises:
            ServiceUnavailable: it did not start (the same answer for the rest of the run).
        """
        return await self._server(name, lambda: start_data_service(self.env, name,
                                                                   extra_env=extra_env))

    async def gateway(self) -> ServerProcess:
        """The gateway, in front of the data services started so far."""
        upstreams = {name: s.url for name, s in self.servers.items()
                     if name not in ("gateway", "reference")}
        return await self._server("gateway", lambda: start_gateway(self.env, upstreams))

    async def reference(self) -> ServerProcess:
        return await self._server("reference", lambda: start_reference(self.env))

    def token(self, role: Role, *, school_urns: Iterable[str] = (),
              zones: Iterable[str] = ()) -> str:
        """A bearer token signed with the run's key, valid for two hours."""
        return self.env.keys.issue_token(f"bench-{role.value}", [role],
                                         school_urns=school_urns, zones=zones,
                                         lifetime_s=2 * 3600)

    def loop_spec(self, base_url: str, operation: str, params: dict[str, object],
                  headers: dict[str, str] | None = None) -> LoadSpec:
        """A closed-loop load at the run's concurrency, warm-up and duration."""
        return LoadSpec(base_url=base_url, operation=operation, params=dict(params),
                        concurrency=self.options.concurrency,
                        duration_s=self.options.duration_s, warmup_s=self.options.warmup_s,
                        headers=headers or {})

    async def load(self, spec: LoadSpec) -> LoadReport:
        """Run the load generator in a process of its own."""
        return await run_load(spec)

    def stop_servers(self) -> None:
        """Stop every server started, the gateway first."""
        order = sorted(self.servers, key=lambda n: 0 if n == "gateway" else 1)
        for name in order:
            self.servers[name].stop()
        self.servers.clear()
