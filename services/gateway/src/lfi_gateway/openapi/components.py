"""Components of several OpenAPI documents in one namespace.

Components with the same name and the same definition in several documents become one
(``Problem``, ``FieldError`` from the shared library). A name defined differently in two
documents is given, in each document that differs from the gateway's own, the document's
prefix (``Referrals_Page``, ``Funding_Page``) and every ``$ref`` to it is rewritten. "The same
definition" is judged after renaming, so a schema that refers to a renamed one is renamed too.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

REF_PREFIX = "#/components/"
GATEWAY_SOURCE = "gateway"

JsonObject = dict[str, Any]
Renames = dict[tuple[str, str], str]
"""(section, original name) → new name, for one source document."""


def _rename_ref(ref: str, renames: Renames) -> str:
    if not ref.startswith(REF_PREFIX):
        return ref
    section, _, name = ref[len(REF_PREFIX):].partition("/")
    new = renames.get((section, name))
    return f"{REF_PREFIX}{section}/{new}" if new else ref


def rewrite_refs(node: Any, renames: Renames) -> Any:
    """A copy of ``node`` with its component references (``$ref``, discriminator mappings)
    pointing at the renamed components."""
    if isinstance(node, dict):
        out: JsonObject = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = _rename_ref(value, renames)
            elif key == "mapping" and isinstance(value, dict) and all(
                    isinstance(v, str) for v in value.values()):
                out[key] = {k: _rename_ref(v, renames) for k, v in value.items()}
            else:
                out[key] = rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [rewrite_refs(item, renames) for item in node]
    return node


def references(node: Any) -> set[tuple[str, str]]:
    """Every (section, name) of a component ``node`` refers to."""
    found: set[tuple[str, str]] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                    section, _, name = value[len(REF_PREFIX):].partition("/")
                    found.add((section, name))
                elif key == "mapping" and isinstance(value, dict):
                    for target in value.values():
                        if isinstance(target, str) and target.startswith(REF_PREFIX):
                            section, _, name = target[len(REF_PREFIX):].partition("/")
                            found.add((section, name))
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _canonical(definition: Any, renames: Renames) -> str:
    return json.dumps(rewrite_refs(definition, renames), sort_keys=True, separators=(",", ":"))


def prefixed_name(source: str, name: str) -> str:
    """The name a clashing component of ``source`` gets: ``Referrals_Page``."""
    return f"{source[:1].upper()}{source[1:]}_{name}"


def unify_components(
    sources: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> tuple[dict[str, JsonObject], dict[str, Renames]]:
    """Merge the ``components`` of each source document into one namespace.

    ``sources`` maps a source name (``gateway``, ``referrals`` ...) to its ``components``
    object. Returns the merged components (sections and names sorted) and each source's
    renames, to apply to its paths with :func:`rewrite_refs`. The gateway's own components
    keep their names.
    """
    renames: dict[str, Renames] = {source: {} for source in sources}
    taken = {(section, name) for components in sources.values()
             for section, entries in components.items() for name in entries}
    while True:
        variants: dict[tuple[str, str], dict[str, list[tuple[str, str]]]] = defaultdict(
            lambda: defaultdict(list))
        for source, components in sources.items():
            for section, entries in components.items():
                for name, definition in entries.items():
                    final = renames[source].get((section, name), name)
                    canonical = _canonical(definition, renames[source])
                    variants[(section, final)][canonical].append((source, name))
        changed = False
        for (section, _), by_definition in variants.items():
            if len(by_definition) < 2:
                continue
            keep = next((owners for owners in by_definition.values()
                         if any(source == GATEWAY_SOURCE for source, _ in owners)), [])
            for owners in by_definition.values():
                if owners is keep:
                    continue
                # Renamed names are fresh (``taken``), so every owner here still has its own.
                for source, name in owners:
                    new = prefixed_name(source, name)
                    while (section, new) in taken:
                        new = prefixed_name(source, new)
                    taken.add((section, new))
                    renames[source][(section, name)] = new
                    changed = True
        if not changed:
            break
    merged: dict[str, JsonObject] = defaultdict(dict)
    for source, components in sources.items():
        for section, entries in components.items():
            for name, definition in entries.items():
                final = renames[source].get((section, name), name)
                merged[section][final] = rewrite_refs(definition, renames[source])
    return ({section: dict(sorted(merged[section].items())) for section in sorted(merged)},
            renames)


def prune_schemas(document: JsonObject) -> None:
    """Drop the schemas nothing in ``document`` refers to (directly or through others)."""
    components = document.get("components", {})
    schemas: JsonObject = components.get("schemas", {})
    roots = {key: value for key, value in document.items() if key != "components"}
    roots["components"] = {k: v for k, v in components.items() if k != "schemas"}
    wanted: set[str] = set()
    pending = [name for section, name in references(roots) if section == "schemas"]
    while pending:
        name = pending.pop()
        if name in wanted or name not in schemas:
            continue
        wanted.add(name)
        pending.extend(n for s, n in references(schemas[name]) if s == "schemas")
    if schemas:
        components["schemas"] = {name: schemas[name] for name in schemas if name in wanted}
