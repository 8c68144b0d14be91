"""The embedded PostgreSQL: the server binaries the ``pgserver`` wheel bundles, run directly.

``pgserver``'s own API listens on a Unix socket only, so the devstack calls its ``initdb`` and
``postgres`` itself, listening on TCP at the host and port of the configured admin URL. The
server is a child in its own process group; :meth:`EmbeddedPostgres.stop` ends it and only it.

PostgreSQL refuses to run as root. As root (CI), the server runs as the system user
``pgserver`` (the user the ``pgserver`` package itself uses, created if missing), which owns the
data folder and must be able to traverse the folders above it and the binaries.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import stat
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

from lfi_devstack.probe import Endpoint, endpoint, libpq_url, probe_postgres
from lfi_devstack.processes import (
    StartupError,
    die_with_parent,
    stop_process_group,
    tail,
    wait_until,
)

SYSTEM_USER = "pgserver"


def pginstall() -> Path:
    """The PostgreSQL installation inside the ``pgserver`` wheel (without importing it)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise StartupError("the pgserver package is not installed (run `make install`)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


@dataclass(frozen=True)
class AdminAccount:
    user: str
    password: str | None
    database: str

    @classmethod
    def from_url(cls, admin_url: str) -> AdminAccount:
        parts = urlsplit(admin_url)
        return cls(
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
            database=unquote(parts.path.lstrip("/")) or "postgres",
        )


class EmbeddedPostgres:
    """A PostgreSQL server with its data in ``data_dir``, listening at the admin URL's address."""

    def __init__(self, admin_url: str, data_dir: Path, log_path: Path) -> None:
        self.admin_url = admin_url
        self.where: Endpoint = endpoint(admin_url, 5432)
        self.account = AdminAccount.from_url(admin_url)
        self.data_dir = data_dir.resolve()
        self.log_path = log_path
        self.bin = pginstall() / "bin"
        self._os_user = _server_os_user()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, *, timeout: float = 30.0, stop: threading.Event | None = None) -> None:
        """Initialise the data folder if new, start the server and wait until it answers.

        Raises :class:`StartupError` (with the server log's tail) if it does not come up.
        """
        if not self.where.is_local:
            raise StartupError(
                f"cannot start a PostgreSQL for {self.where.host}: not this machine"
            )
        self._prepare_data_dir()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 — fixed binary and arguments
                [
                    str(self.bin / "postgres"), "-D", str(self.data_dir),
                    "-p", str(self.where.port),
                    "-c", f"listen_addresses={self.where.host}",
                    "-c", "unix_socket_directories=",
                    "-c", "max_connections=200",
                    # A throwaway development server: durability traded for speed.
                    "-c", "fsync=off", "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off",
                ],
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGINT),
                user=self._uid, group=self._gid, extra_groups=self._extra_groups,
            )
        try:
            wait_until(
                lambda: probe_postgres(self.admin_url, timeout=1).ready,
                timeout=timeout, stop=stop, alive=lambda: self._proc is not None
                and self._proc.poll() is None,
                what=f"PostgreSQL on {self.where.host}:{self.where.port}",
            )
        except StartupError as exc:
            self.stop()
            raise StartupError(f"{exc}\n--- {self.log_path} ---\n{tail(self.log_path)}") from None
        except BaseException:
            self.stop()
            raise
        self._ensure_admin_database()

    def stop(self, timeout: float = 15.0) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit)."""
        if self._proc is not None:
            stop_process_group(self._proc, sig=signal.SIGINT, timeout=timeout)
            self._proc = None

    def _prepare_data_dir(self) -> None:
        fresh = not (self.data_dir / "PG_VERSION").exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if self._os_user is not None:
            _grant_traverse(self.data_dir.parent)
            _grant_read_tree(self.bin.parent)
            if self.data_dir.stat().st_uid != self._os_user.pw_uid:
                _chown_tree(self.data_dir, self._os_user)
        if fresh:
            self._initdb()

    def _initdb(self) -> None:
        argv = [
            str(self.bin / "initdb"), "-D", str(self.data_dir), "-U", self.account.user,
            "--encoding=UTF8", "--locale=C", "--no-instructions", "--auth-local=trust",
        ]
        with tempfile.TemporaryDirectory(prefix="lfi-initdb-") as tmp:
            if self.account.password is None:
                argv.append("--auth-host=trust")
            else:
                pwfile = Path(tmp) / "pw"
                pwfile.write_text(self.account.password)
                if self._os_user is not None:
                    _grant_traverse(pwfile)
                    os.chown(tmp, self._os_user.pw_uid, self._os_user.pw_gid)
                    os.chown(pwfile, self._os_user.pw_uid, self._os_user.pw_gid)
                argv += ["--auth-host=scram-sha-256", f"--pwfile={pwfile}"]
            result = subprocess.run(  # noqa: S603 — fixed binary and arguments
                argv, cwd=self.data_dir, capture_output=True, text=True, check=False,
                user=self._uid, group=self._gid, extra_groups=self._extra_groups,
            )
        if result.returncode != 0:
            raise StartupError(
                f"initdb failed for {self.data_dir}:\n{result.stdout}{result.stderr}"
            )

    def _ensure_admin_database(self) -> None:
        if self.account.database in ("postgres", "template1"):
            return
        url = urlsplit(libpq_url(self.admin_url))._replace(path="/postgres").geturl()
        with psycopg.connect(url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (self.account.database,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(
                    sql.Identifier(self.account.database)))

    # The identity the server runs under: unchanged unless we are root.
    @property
    def _uid(self) -> int | None:
        return self._os_user.pw_uid if self._os_user else None

    @property
    def _gid(self) -> int | None:
        return self._os_user.pw_gid if self._os_user else None

    @property
    def _extra_groups(self) -> list[int] | None:
        return [] if self._os_user else None


def _server_os_user() -> pwd.struct_passwd | None:
    """None when not root; else the unprivileged user the server runs as (made if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    made = subprocess.run(  # noqa: S603 — fixed command
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",  # noqa: S607
         SYSTEM_USER],
        capture_output=True, text=True, check=False,
    )
    if made.returncode != 0:
        raise StartupError(
            f"running as root, PostgreSQL needs an unprivileged user; `useradd {SYSTEM_USER}` "
            f"failed: {made.stderr.strip()}"
        )
    return pwd.getpwnam(SYSTEM_USER)


def _grant_traverse(path: Path) -> None:
    """Let other users pass through every folder above ``path`` (execute bit only)."""
    for folder in path.resolve().parents if path.is_file() else (path.resolve(),
                                                                 *path.resolve().parents):
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


def _grant_read_tree(root: Path) -> None:
    """Make the PostgreSQL installation readable (and its binaries runnable) by other users."""
    _grant_traverse(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            _add_mode(Path(folder) / name, stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            path = Path(folder) / name
            extra = stat.S_IROTH | (stat.S_IXOTH if path.stat().st_mode & stat.S_IXUSR else 0)
            _add_mode(path, extra)


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(mode | bits)


def _chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    os.chown(root, user.pw_uid, user.pw_gid)
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.chown(Path(folder) / name, user.pw_uid, user.pw_gid, follow_symlinks=False)
