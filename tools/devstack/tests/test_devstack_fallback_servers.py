"""Where nothing answers, the devstack starts a private NATS or PostgreSQL, and stops only it."""

from __future__ import annotations

import asyncio

import nats
import psycopg
import pytest

from lfi_devstack.infra import Infra, InfraConfig
from lfi_devstack.paths import LocalPaths
from lfi_devstack.probe import Endpoint, probe_nats, probe_postgres, tcp_listening


def _infra(local: LocalPaths, *, pg_port: int = 1, nats_port: int = 1,
           pg_auth: str = "postgres") -> Infra:
    return Infra(InfraConfig(
        pg_admin_url=f"postgresql://{pg_auth}@127.0.0.1:{pg_port}/postgres",
        nats_url=f"nats://127.0.0.1:{nats_port}",
        local=local,
    ))


async def _publish_to_a_stream(url: str) -> int:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="DEVSTACK_TEST", subjects=["devstack.test"])
        ack = await js.publish("devstack.test", b"hello")
        return ack.seq
    finally:
        await nc.close()


def test_nats_with_jetstream_is_started_when_the_configured_url_does_not_answer(
    port: int, local: LocalPaths
) -> None:
    infra = _infra(local, nats_port=port)
    try:
        infra.ensure_nats()

        assert [name for name, _ in infra.started] == ["NATS"]
        assert probe_nats(infra.nats_url).ready
        assert asyncio.run(_publish_to_a_stream(infra.nats_url)) == 1
        assert local.nats_store.is_dir()
    finally:
        infra.stop()

    assert infra.started == []
    assert not tcp_listening(Endpoint("127.0.0.1", port))


def test_embedded_postgres_is_started_when_none_answers_and_stopped_after(
    port: int, local: LocalPaths
) -> None:
    infra = _infra(local, pg_port=port)
    try:
        infra.ensure_postgres()

        assert [name for name, _ in infra.started] == ["PostgreSQL"]
        with psycopg.connect(infra.pg_admin_url) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 160000
        assert (local.pgdata / "PG_VERSION").is_file()
    finally:
        infra.stop()

    assert not tcp_listening(Endpoint("127.0.0.1", port))
    assert probe_postgres(infra.pg_admin_url).down


def test_embedded_postgres_requires_the_admin_password_when_the_url_has_one(
    port: int, local: LocalPaths
) -> None:
    infra = _infra(local, pg_port=port, pg_auth="admin:s3cret")
    try:
        infra.ensure_postgres()

        with psycopg.connect(infra.pg_admin_url) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("admin",)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(f"postgresql://admin:wrong@127.0.0.1:{port}/postgres")
    finally:
        infra.stop()
