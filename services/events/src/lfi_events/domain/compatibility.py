"""Whether a contract's current schema is a compatible evolution of its committed snapshot.

The platform's rule (DESIGN §4): contracts change additively. Within one ``vN``:

* a field may be added if it is optional (not in ``required``);
* a field may not be removed, retyped (any change of its shape: types, formats, enum values,
  item or nested shapes), or become required;
* a declared type may not disappear.

A breaking change is a new class with a new ``vN`` type, which gets a snapshot of its own.
Annotations (``title``, ``description``, ``default``, ``examples``) are free to change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment",
                          "deprecated", "readOnly", "writeOnly"})


@dataclass(frozen=True)
class BreakingChange:
    """One incompatible difference between a snapshot and the current schema."""

    event_type: str
    field: str | None
    kind: str  # removed | retyped | made_required | type_removed
    detail: str

    def __str__(self) -> str:
        where = f".{self.field}" if self.field else ""
        return f"{self.event_type}{where}: {self.kind} ({self.detail})"


def shape(node: Any) -> Any:
    """The part of a schema that constrains values: annotations dropped, unions sorted."""
    if isinstance(node, dict):
        result = {k: shape(v) for k, v in node.items() if k not in _ANNOTATIONS}
        for key in ("anyOf", "oneOf"):
            if key in result:
                result[key] = sorted(result[key], key=_canonical)
        if "enum" in result:
            result["enum"] = sorted(result["enum"], key=_canonical)
        if "required" in result:
            result["required"] = sorted(result["required"])
        return result
    if isinstance(node, list):
        return [shape(item) for item in node]
    return node


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def breaking_changes(event_type: str, snapshot: dict[str, Any],
                     current: dict[str, Any] | None) -> list[BreakingChange]:
    """Every incompatible difference of ``current`` from ``snapshot`` (empty: compatible).

    ``current`` is None when the type is no longer declared.
    """
    if current is None:
        return [BreakingChange(event_type, None, "type_removed",
                               "the type is no longer declared by any contract")]
    changes: list[BreakingChange] = []
    old_props: dict[str, Any] = snapshot.get("properties", {})
    new_props: dict[str, Any] = current.get("properties", {})
    old_required = set(snapshot.get("required", []))
    new_required = set(current.get("required", []))
    for name, old in old_props.items():
        if name not in new_props:
            changes.append(BreakingChange(event_type, name, "removed", "field removed"))
            continue
        if _canonical(shape(old)) != _canonical(shape(new_props[name])):
            changes.append(BreakingChange(
                event_type, name, "retyped",
                f"{_canonical(shape(old))} -> {_canonical(shape(new_props[name]))}"))
    for name in sorted(new_required - old_required):
        kind = "made_required" if name in old_props else "added_required"
        changes.append(BreakingChange(event_type, name, "made_required",
                                      "an existing optional field is now required"
                                      if kind == "made_required"
                                      else "a new field is required"))
    # Whole-object rules other than the properties (additionalProperties, etc.).
    rest_old = {k: v for k, v in shape(snapshot).items()
                if k not in ("properties", "required", "$id", "$schema")}
    rest_new = {k: v for k, v in shape(current).items()
                if k not in ("properties", "required", "$id", "$schema")}
    if _canonical(rest_old) != _canonical(rest_new):
        changes.append(BreakingChange(event_type, None, "retyped",
                                      "the object's own constraints changed"))
    return changes


def is_refresh_needed(snapshot: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether a compatible schema differs from its snapshot (the snapshot should be renewed)."""
    return _canonical(snapshot) != _canonical(current)
