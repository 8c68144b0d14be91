"""Child processes: their own process group, prefixed output, a log file, and a clean stop.

Each child runs in a session (and so a process group) of its own, so a Ctrl-C in the terminal
reaches only the devstack, which then stops its children in order; and stopping a child sends
the signal to its whole group, never to anything the devstack did not start.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TextIO

_COLOURS = ("36", "32", "33", "35", "34", "91", "96", "92")
_print_lock = threading.Lock()


class Interrupted(Exception):
    """A stop was requested (SIGINT or SIGTERM) while the devstack was waiting."""


class StartupError(Exception):
    """Something the devstack started did not come up; the message says what and shows why."""


def say(message: str, *, name: str = "devstack", out: TextIO | None = None) -> None:
    """One line of the devstack's own output."""
    stream = out or sys.stdout
    with _print_lock:
        stream.write(f"{name:<10} | {message}\n")
        stream.flush()


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ('' when there is none)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    stop: threading.Event | None = None,
    alive: Callable[[], bool] = lambda: True,
    interval: float = 0.1,
) -> None:
    """Poll ``ready`` until it is true.

    Raises :class:`StartupError` when ``alive`` turns false or ``timeout`` passes, and
    :class:`Interrupted` when ``stop`` is set.
    """
    deadline = time.monotonic() + timeout
    while True:
        if stop is not None and stop.is_set():
            raise Interrupted(what)
        if ready():
            return
        if not alive():
            raise StartupError(f"{what}: the process exited before it was ready")
        if time.monotonic() > deadline:
            raise StartupError(f"{what}: not ready after {timeout:.0f}s")
        time.sleep(interval)


def stop_process_group(proc: subprocess.Popen[bytes], *, sig: int | None = signal.SIGTERM,
                       timeout: float = 10.0) -> int | None:
    """Send ``sig`` to the child's process group, then SIGKILL it if it outlives ``timeout``.

    ``sig=None``: the signal was sent already, only wait. Only for children started with
    ``start_new_session=True`` (their pgid is their pid). Returns the exit code (None if even
    SIGKILL did not end it in time).
    """
    if proc.poll() is None:
        if sig is not None:
            _signal_group(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                return None
    # Anything the child left behind in its group (a reloader's worker, say) goes too.
    _signal_group(proc.pid, signal.SIGKILL)
    return proc.returncode


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child if the devstack dies
    (even by SIGKILL), so no server is left holding its port; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the forked child
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sig)

    return preexec


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Child:
    """A long-running or one-shot child process whose output is prefixed with its name,
    copied to the terminal and appended to its log file."""

    _count = 0

    def __init__(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path,
                 log_path: Path, echo: bool = True, long_running: bool = True) -> None:
        self.name = name
        self.log_path = log_path
        self._echo = echo
        colour = _COLOURS[Child._count % len(_COLOURS)]
        Child._count += 1
        self._prefix = (f"\x1b[{colour}m{name:<10} |\x1b[0m " if sys.stdout.isatty()
                        else f"{name:<10} | ")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 — argv is built by the devstack, not a shell
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # One-shot steps finish on their own (and are started from worker threads,
            # where a preexec_fn is best avoided).
            preexec_fn=die_with_parent() if long_running else None,
        )
        self._signalled = False
        self._pump = threading.Thread(target=self._copy_output, name=f"out-{name}", daemon=True)
        self._pump.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, stop: threading.Event | None = None) -> int:
        """Wait for a one-shot child; on ``stop`` it is stopped and :class:`Interrupted` raised."""
        while True:
            try:
                code = self.proc.wait(0.1)
                break
            except subprocess.TimeoutExpired:
                if stop is not None and stop.is_set():
                    self.stop()
                    raise Interrupted(self.name) from None
        self._pump.join(5)
        self._log.close()
        return code

    def terminate(self) -> None:
        """Ask the child's process group to stop (SIGTERM, once); :meth:`stop` waits for it."""
        if not self._signalled and self.alive():
            self._signalled = True
            _signal_group(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the child's process group (SIGTERM, then SIGKILL after ``timeout``)."""
        code = stop_process_group(self.proc, timeout=timeout,
                                  sig=None if self._signalled else signal.SIGTERM)
        self._pump.join(5)
        self._log.close()
        return code

    def _copy_output(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            try:
                self._log.write(raw)
                self._log.flush()
            except ValueError:  # the log was closed: the child is being let go
                pass
            if self._echo:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                with _print_lock:
                    sys.stdout.write(f"{self._prefix}{line}\n")
                    sys.stdout.flush()
