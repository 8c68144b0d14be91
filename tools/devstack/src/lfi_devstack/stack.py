"""The services of the platform and what each needs to run locally.

The environment each child gets follows the services' settings contract: a prefix per service
(``LFI_REFERRALS_`` ...), a database role of its own owning one schema in database ``lfi``,
the NATS URL with an empty namespace, and the local JWKS. ``LFI_<NAME>_HOST`` and
``LFI_<NAME>_PORT`` may be set to move a service; everything else is the devstack's.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from lfi_devstack.paths import LocalPaths
from lfi_devstack.probe import libpq_url
from lfi_shared import provisioning
from lfi_shared.settings import DEV_DATABASE_PASSWORD

DATABASE = "lfi"


@dataclass(frozen=True)
class Service:
    name: str
    default_port: int
    has_database: bool = True

    @property
    def package(self) -> str:
        return f"lfi_{self.name}"

    @property
    def role(self) -> str:
        return f"lfi_{self.name}"

    @property
    def prefix(self) -> str:
        return f"LFI_{self.name.upper()}_"

    def host(self, env: Mapping[str, str]) -> str:
        return env.get(f"{self.prefix}HOST") or "127.0.0.1"

    def port(self, env: Mapping[str, str]) -> int:
        return int(env.get(f"{self.prefix}PORT") or self.default_port)

    def url(self, env: Mapping[str, str]) -> str:
        host = self.host(env)
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 — a comparison
        return f"http://{shown}:{self.port(env)}"

    def argv(self, command: str) -> list[str]:
        return [sys.executable, "-m", self.package, command]


GATEWAY = Service("gateway", 8000, has_database=False)
DATA_SERVICES = (
    Service("referrals", 8001),
    Service("placements", 8002),
    Service("funding", 8003),
    Service("events", 8004),
)
SERVICES = (GATEWAY, *DATA_SERVICES)


@dataclass(frozen=True)
class Stack:
    """Where the stack's infrastructure is and how its services are configured."""

    repo: Path
    local: LocalPaths
    pg_admin_url: str
    nats_url: str
    password: str = DEV_DATABASE_PASSWORD
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def database_admin_url(self) -> str:
        """The admin URL on database ``lfi`` (libpq/asyncpg form)."""
        url = make_url(libpq_url(self.pg_admin_url)).set(database=DATABASE)
        return url.render_as_string(hide_password=False)

    @property
    def jwks_file(self) -> Path:
        return (self.local.keys / "jwks.json").resolve()

    def service_env(self, service: Service) -> dict[str, str]:
        """The full environment of one service's child processes."""
        env = dict(self.base_env)
        env["PYTHONUNBUFFERED"] = "1"
        p = service.prefix
        env[f"{p}HOST"] = service.host(self.base_env)
        env[f"{p}PORT"] = str(service.port(self.base_env))
        env[f"{p}ENVIRONMENT"] = "development"
        env[f"{p}AUTH_JWKS_FILE"] = str(self.jwks_file)
        if service.has_database:
            env[f"{p}DATABASE_URL"] = provisioning.role_url(
                self.database_admin_url, role=service.role, password=self.password
            )
            env[f"{p}DB_SCHEMA"] = service.name
            env[f"{p}NATS_URL"] = self.nats_url
            env[f"{p}NATS_NAMESPACE"] = ""
        else:
            for upstream in DATA_SERVICES:
                env[f"{p}{upstream.name.upper()}_URL"] = upstream.url(self.base_env)
        return env

    def ensure_keys(self) -> Path:
        """The local signing key pair (made once); returns the JWKS file the services trust."""
        from lfi_shared.auth.local_keys import ensure_local_keypair

        return ensure_local_keypair(self.local.keys).jwks_path.resolve()

    def provision(self) -> None:
        """Database ``lfi`` and, for each service with data, its role owning its schema."""
        asyncio.run(self._provision())

    async def _provision(self) -> None:
        await provisioning.ensure_database(libpq_url(self.pg_admin_url), DATABASE)
        for service in DATA_SERVICES:
            await provisioning.ensure_service_schema(
                self.database_admin_url, schema=service.name, role=service.role,
                password=self.password,
            )


def dev_password(env: Mapping[str, str]) -> str:
    """``LFI_DEV_DB_PASSWORD``, else the development password the services default to."""
    return env.get("LFI_DEV_DB_PASSWORD") or DEV_DATABASE_PASSWORD
