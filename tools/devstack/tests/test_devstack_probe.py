"""Probing tells 'nothing listens' (start our own) from 'answers but unusable' (report it)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from lfi_devstack.infra import Infra, InfraConfig
from lfi_devstack.paths import LocalPaths
from lfi_devstack.probe import Endpoint, Status, probe_nats, probe_postgres, tcp_listening
from lfi_devstack.processes import StartupError


def _listener(*, hang_up: bool) -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn = server.accept()[0]
            except TimeoutError:
                continue
            except OSError:
                return
            if hang_up:
                conn.close()
            else:
                accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def mute_listener() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    yield from _listener(hang_up=False)


@pytest.fixture
def rude_listener() -> Iterator[int]:
    """A port that accepts TCP connections and hangs up at once."""
    yield from _listener(hang_up=True)


def test_a_port_where_nothing_listens_is_reported_as_not_answering(port: int) -> None:
    assert not tcp_listening(Endpoint("127.0.0.1", port))
    assert probe_postgres(f"postgresql://postgres@127.0.0.1:{port}/postgres").status is Status.DOWN
    assert probe_nats(f"nats://127.0.0.1:{port}").status is Status.DOWN


def test_a_server_that_answers_but_is_not_postgres_is_unusable_not_down(rude_listener: int) -> None:
    probe = probe_postgres(f"postgresql://postgres@127.0.0.1:{rude_listener}/postgres")

    assert probe.status is Status.UNUSABLE
    assert probe.detail


def test_a_server_that_answers_but_is_not_nats_is_unusable_not_down(mute_listener: int) -> None:
    probe = probe_nats(f"nats://127.0.0.1:{mute_listener}", timeout=1)

    assert probe.status is Status.UNUSABLE


def test_an_unusable_server_is_reported_and_nothing_is_started(
    rude_listener: int, local: LocalPaths
) -> None:
    infra = Infra(InfraConfig(
        pg_admin_url=f"postgresql://postgres@127.0.0.1:{rude_listener}/postgres",
        nats_url=f"nats://127.0.0.1:{rude_listener}",
        local=local,
    ))

    with pytest.raises(StartupError, match="answers but cannot be used"):
        infra.ensure_postgres()
    with pytest.raises(StartupError, match="LFI_NATS_URL"):
        infra.ensure_nats()
    assert infra.started == []
    assert not local.pgdata.exists()
    assert not local.nats_store.exists()
