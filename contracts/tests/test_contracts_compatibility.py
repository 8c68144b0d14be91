"""Contracts change compatibly within a version; the committed snapshots say what was promised.

``contracts/schemas/<type>.json`` holds the JSON Schema of every published type. The build
fails when a contract removes, retypes or makes required a field of its snapshot without a new
``vN`` type. A compatible change (an optional field added) or a new type needs its snapshot
written: ``python -m lfi_events snapshot-schemas``.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import ClassVar
from uuid import UUID

import pytest

from lfi_contracts import PRODUCERS, all_contracts
from lfi_contracts.referrals import ReferralSubmitted
from lfi_events.domain.catalogue import contract_schema
from lfi_events.domain.compatibility import breaking_changes
from lfi_events.snapshots import (
    SNAPSHOT_DIR,
    IncompatibleChangeError,
    compare,
    current_schemas,
    load_snapshots,
    write_snapshots,
)
from lfi_shared.messaging import EventCatalogue, EventContract, contract_registry

ORIGINAL = ReferralSubmitted.event_type


def test_every_contract_is_compatible_with_its_committed_snapshot() -> None:
    # Only the platform's producers: other tests in the session declare made-up contracts.
    current = {event_type: schema for event_type, schema in current_schemas(all_contracts()).items()
               if event_type.split(".")[1] in PRODUCERS}
    report = compare(load_snapshots(SNAPSHOT_DIR), current)
    assert report.breaking == [], "incompatible contract changes: declare a new vN instead"
    assert report.missing == [], "new types: run python -m lfi_events snapshot-schemas"
    assert report.stale == [], "compatible changes: run python -m lfi_events snapshot-schemas"


@pytest.fixture
def declared() -> list[str]:
    """Throw-away contract types declared by a test, forgotten afterwards."""
    types: list[str] = []
    yield types
    for event_type in types:
        contract_registry.unregister(event_type)


def _snapshot() -> dict:
    return json.loads((SNAPSHOT_DIR / f"{ORIGINAL}.json").read_text())


def test_a_removed_field_with_the_same_version_is_caught(declared: list[str]) -> None:
    class WithoutTriageDue(EventContract):  # ReferralSubmitted without triage_due_on
        event_type: ClassVar[str] = "lfi.compattest.referral.removed.v1"
        referral_id: UUID
        school_urn: str
        zone_id: UUID | None = None
        subject_kind: str
        child_id: UUID | None = None
        support_requested: list[str] = []
        submitted_at: datetime
    declared.append(WithoutTriageDue.event_type)

    changes = breaking_changes(ORIGINAL, _snapshot(), contract_schema(WithoutTriageDue))
    assert {(c.field, c.kind) for c in changes} >= {("triage_due_on", "removed"),
                                                    ("subject_kind", "retyped")}


def test_a_retyped_field_with_the_same_version_is_caught(declared: list[str]) -> None:
    annotation = ReferralSubmitted.model_fields["subject_kind"].annotation
    triage = ReferralSubmitted.model_fields["triage_due_on"].annotation

    class SubmittedAsText(EventContract):  # submitted_at: datetime → str
        event_type: ClassVar[str] = "lfi.compattest.referral.retyped.v1"
        referral_id: UUID
        school_urn: str
        zone_id: UUID | None = None
        subject_kind: annotation  # type: ignore[valid-type]
        child_id: UUID | None = None
        support_requested: list[str] = []
        submitted_at: str
        triage_due_on: triage = None  # type: ignore[valid-type]
    declared.append(SubmittedAsText.event_type)

    changes = breaking_changes(ORIGINAL, _snapshot(), contract_schema(SubmittedAsText))
    assert [(c.field, c.kind) for c in changes] == [("submitted_at", "retyped")]


def test_a_field_made_required_is_caught_and_an_optional_addition_is_not(
        declared: list[str]) -> None:
    annotation = ReferralSubmitted.model_fields["subject_kind"].annotation
    triage = ReferralSubmitted.model_fields["triage_due_on"].annotation

    class ZoneRequired(EventContract):
        event_type: ClassVar[str] = "lfi.compattest.referral.required.v1"
        referral_id: UUID
        school_urn: str
        zone_id: UUID | None  # was optional
        subject_kind: annotation  # type: ignore[valid-type]
        child_id: UUID | None = None
        support_requested: list[str] = []
        submitted_at: datetime
        triage_due_on: triage = None  # type: ignore[valid-type]

    class WithOptionalAddition(EventContract):
        event_type: ClassVar[str] = "lfi.compattest.referral.added.v1"
        referral_id: UUID
        school_urn: str
        zone_id: UUID | None = None
        subject_kind: annotation  # type: ignore[valid-type]
        child_id: UUID | None = None
        support_requested: list[str] = []
        submitted_at: datetime
        triage_due_on: triage = None  # type: ignore[valid-type]
        urgency: str | None = None
    declared += [ZoneRequired.event_type, WithOptionalAddition.event_type]

    required = breaking_changes(ORIGINAL, _snapshot(), contract_schema(ZoneRequired))
    assert [(c.field, c.kind) for c in required] == [("zone_id", "made_required")]
    added = {**contract_schema(WithOptionalAddition), "title": "ReferralSubmitted",
             "$id": _snapshot()["$id"]}
    assert breaking_changes(ORIGINAL, _snapshot(), added) == []


def test_the_snapshot_command_refuses_an_incompatible_change(tmp_path: Path,
                                                             declared: list[str]) -> None:
    class Shrunk(EventContract):
        event_type: ClassVar[str] = "lfi.compattest.referral.shrunk.v1"
        referral_id: UUID
    declared.append(Shrunk.event_type)
    catalogue = EventCatalogue()
    catalogue.register(Shrunk)
    shutil.copy(SNAPSHOT_DIR / f"{ORIGINAL}.json", tmp_path / f"{Shrunk.event_type}.json")
    with pytest.raises(IncompatibleChangeError, match="school_urn: removed"):
        write_snapshots(tmp_path, catalogue)
    assert json.loads((tmp_path / f"{Shrunk.event_type}.json").read_text()) == _snapshot()


def test_a_declared_type_without_its_class_is_caught() -> None:
    assert [c.kind for c in breaking_changes(ORIGINAL, _snapshot(), None)] == ["type_removed"]
