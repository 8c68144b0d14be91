"""Fixtures of the devstack tests: free ports and scratch folders for real servers."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lfi_devstack.paths import LocalPaths


def free_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def local() -> Iterator[LocalPaths]:
    """A throwaway ``.local/``. Not pytest's tmp_path: as root, the embedded PostgreSQL runs as
    another user that must be able to reach its data folder, and pytest's base is mode 0700."""
    with tempfile.TemporaryDirectory(prefix="lfi-devstack-test-") as folder:
        yield LocalPaths(Path(folder) / ".local")
