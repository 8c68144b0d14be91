"""Where the local stack keeps its state: everything under the git-ignored ``.local/`` folder."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


def repo_root(start: Path | None = None) -> Path:
    """The workspace root: the nearest folder above ``start`` (default: cwd) holding ``uv.lock``.

    Falls back to the checkout this package is installed from (an editable workspace member).
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "uv.lock").is_file() and (folder / "tools" / "devstack").is_dir():
            return folder
    return Path(__file__).resolve().parents[4]


def venv_bin(name: str) -> Path:
    """A console script or binary installed next to the running interpreter (``.venv/bin``)."""
    return Path(sys.executable).parent / name


@dataclass(frozen=True)
class LocalPaths:
    """The ``.local/`` layout: keys, embedded PostgreSQL data, NATS store, logs."""

    root: Path

    @classmethod
    def under(cls, repo: Path) -> LocalPaths:
        return cls(repo / ".local")

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def nats_store(self) -> Path:
        return self.root / "nats"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, name: str) -> Path:
        self.logs.mkdir(parents=True, exist_ok=True)
        return self.logs / f"{name}.log"
