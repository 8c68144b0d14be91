"""The bench's own database, roles, NATS namespace and signing key, removed at the end.

A run makes database ``lfi_bench_<id>`` and, for each schema it needs, a login role
``lfi_bench_<id>_<schema>`` owning that schema (as the devstack gives each service a role of
its own). The roles are the run's own, not the services' ``lfi_<name>`` roles: roles belong
to the whole server, and changing the password of a role that a ``make run`` stack or a test
session logs in with would break them. Streams live under the NATS namespace ``b<id>``.
:meth:`BenchEnvironment.close` drops the database, the roles and the streams.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from lfi_shared import provisioning
from lfi_shared.auth.local_keys import LocalKeyPair, ensure_local_keypair
from lfi_shared.settings import ServiceSettings


def _libpq(url: str) -> str:
    """``postgresql+driver://`` → ``postgresql://`` (asyncpg's form)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class BenchEnvironment:
    """Everything one bench run creates on the shared servers, and how to remove it."""

    run_id: str
    admin_url: str
    nats_url: str
    work_dir: Path
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    log_dir: Path | None = None  # default: <work_dir>/logs
    roles: dict[str, str] = field(default_factory=dict)  # schema -> role
    _keys: LocalKeyPair | None = None
    _created: bool = False

    @classmethod
    async def create(cls, admin_url: str, nats_url: str, *,
                     log_dir: Path | None = None) -> BenchEnvironment:
        """Make the run's database (the admin URL may name any database on the server).

        Keys and (without ``log_dir``) the servers' logs go to a temporary folder.
        """
        run_id = secrets.token_hex(4)
        folder = Path(tempfile.mkdtemp(prefix=f"lfi-bench-{run_id}-"))
        env = cls(run_id=run_id, admin_url=_libpq(admin_url), nats_url=nats_url,
                  work_dir=folder, log_dir=log_dir)
        await provisioning.ensure_database(env.admin_url, env.database)
        env._created = True
        return env

    @property
    def database(self) -> str:
        return f"lfi_bench_{self.run_id}"

    @property
    def namespace(self) -> str:
        """The NATS namespace (prefix of subjects, streams and durables) of this run."""
        return f"b{self.run_id}"

    @property
    def database_admin_url(self) -> str:
        """The administrator's URL on the run's database (asyncpg form)."""
        return make_url(self.admin_url).set(database=self.database).render_as_string(
            hide_password=False)

    def role_name(self, schema: str) -> str:
        return f"lfi_bench_{self.run_id}_{schema}"

    async def schema_url(self, schema: str) -> str:
        """A role of this run owning ``schema``; returns its SQLAlchemy (asyncpg) URL."""
        role = self.roles.get(schema)
        if role is None:
            role = self.role_name(schema)
            await provisioning.ensure_service_schema(self.database_admin_url, schema=schema,
                                                     role=role, password=self.password)
            self.roles[schema] = role
        return provisioning.role_url(self.database_admin_url, role=role, password=self.password)

    @property
    def keys(self) -> LocalKeyPair:
        """The run's own signing key pair; services trust its ``jwks.json``."""
        if self._keys is None:
            self._keys = ensure_local_keypair(self.work_dir / "keys")
        return self._keys

    def log_path(self, name: str) -> Path:
        folder = self.log_dir or self.work_dir / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{name}.log"

    def messaging_settings(self, *, schema: str, database_url: str,
                           service_name: str = "bench") -> ServiceSettings:
        """Service settings for the messaging scenarios: the run's database and namespace.

        Everything else keeps the services' defaults (relay batch size, poll interval ...).
        """
        return ServiceSettings(
            service_name=service_name, environment="test", database_url=database_url,
            db_schema=schema, nats_url=self.nats_url, nats_namespace=self.namespace,
        )

    async def close(self, *, keep_work_dir: bool = False) -> list[str]:
        """Drop the database, the roles and the streams; return what could not be removed."""
        problems: list[str] = []
        if self._created:
            try:
                await provisioning.drop_database(self.admin_url, self.database)
            except Exception as exc:
                problems.append(f"database {self.database}: {exc!r}")
        if self.roles:
            try:
                conn = await asyncpg.connect(self.admin_url)
                try:
                    for role in self.roles.values():
                        await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
                finally:
                    await conn.close()
            except Exception as exc:
                problems.append(f"roles {sorted(self.roles.values())}: {exc!r}")
        problems += await self._delete_streams()
        if not keep_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        return problems

    async def _delete_streams(self) -> list[str]:
        import nats

        try:
            nc = await nats.connect(self.nats_url, connect_timeout=2, max_reconnect_attempts=1)
        except Exception as exc:
            return [f"NATS streams of {self.namespace}: {exc!r}"]
        problems: list[str] = []
        try:
            js = nc.jetstream()
            prefix = self.namespace.upper() + "_"
            for info in await js.streams_info():
                name = info.config.name
                if name and name.startswith(prefix):
                    try:
                        await js.delete_stream(name)
                    except Exception as exc:
                        problems.append(f"stream {name}: {exc!r}")
        finally:
            await nc.close()
        return problems
