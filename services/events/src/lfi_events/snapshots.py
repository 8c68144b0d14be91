"""Committed schema snapshots (``contracts/schemas/<type>.json``) and the committed AsyncAPI
document: reading, comparing with the contracts, refreshing.

The build fails (``contracts/tests/test_contracts_compatibility.py``) when a contract changed
incompatibly within its ``vN``; a compatible change (an optional field added) is accepted and
the snapshot refreshed with ``python -m lfi_events snapshot-schemas``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfi_events import __version__
from lfi_events.domain.asyncapi import asyncapi_document
from lfi_events.domain.catalogue import contract_schema
from lfi_events.domain.compatibility import BreakingChange, breaking_changes, is_refresh_needed
from lfi_shared.messaging import EventCatalogue

REPO_ROOT = Path(__file__).resolve().parents[4]
SNAPSHOT_DIR = REPO_ROOT / "contracts" / "schemas"
ASYNCAPI_FILE = REPO_ROOT / "services" / "events" / "asyncapi.json"


def to_json_text(document: dict[str, Any]) -> str:
    """The committed form of a JSON document (stable, diff-friendly)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def current_schemas(catalogue: EventCatalogue) -> dict[str, dict[str, Any]]:
    """Event type → the JSON Schema generated from its contract now."""
    return {contract.event_type: contract_schema(contract) for contract in catalogue}


def load_snapshots(directory: Path) -> dict[str, dict[str, Any]]:
    """Event type → committed snapshot."""
    return {path.name.removesuffix(".json"): json.loads(path.read_text())
            for path in sorted(directory.glob("*.json"))}


@dataclass
class SnapshotReport:
    breaking: list[BreakingChange] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # declared types without a snapshot
    stale: list[str] = field(default_factory=list)  # compatible changes not yet snapshotted

    @property
    def ok(self) -> bool:
        return not (self.breaking or self.missing or self.stale)


def compare(snapshots: dict[str, dict[str, Any]],
            current: dict[str, dict[str, Any]]) -> SnapshotReport:
    """How the current schemas stand against the snapshots."""
    report = SnapshotReport()
    for event_type, snapshot in sorted(snapshots.items()):
        now = current.get(event_type)
        changes = breaking_changes(event_type, snapshot, now)
        report.breaking += changes
        if not changes and now is not None and is_refresh_needed(snapshot, now):
            report.stale.append(event_type)
    report.missing = sorted(set(current) - set(snapshots))
    return report


class IncompatibleChangeError(RuntimeError):
    """Refusing to snapshot a contract that changed incompatibly within its version."""


def write_snapshots(directory: Path, catalogue: EventCatalogue) -> list[str]:
    """Refresh the snapshots (new types and compatible changes); return the types written.

    Raises:
        IncompatibleChangeError: a contract changed incompatibly: declare a new vN instead.
    """
    current = current_schemas(catalogue)
    report = compare(load_snapshots(directory) if directory.exists() else {}, current)
    if report.breaking:
        raise IncompatibleChangeError("\n".join(str(change) for change in report.breaking))
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in sorted({*report.missing, *report.stale}):
        (directory / f"{event_type}.json").write_text(to_json_text(current[event_type]))
        written.append(event_type)
    return written


def asyncapi_text(catalogue: EventCatalogue) -> str:
    """The AsyncAPI document as committed in the repository."""
    return to_json_text(asyncapi_document(catalogue, version=__version__))
