"""Reading a running service's OpenAPI document: does an endpoint exist, and would it take
what the bench sends?

A scenario written ahead of its service checks the document first, so that it reports "not
measured" with the reason (no such operation; a required field the bench does not send)
rather than a load of errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

JsonObject = dict[str, Any]


async def fetch_openapi(base_url: str) -> JsonObject:
    """The service's ``/openapi.json``.

    Raises:
        httpx.HTTPError: it did not answer 200 with JSON.
    """
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0, trust_env=False) as http:
        response = await http.get("/openapi.json")
        response.raise_for_status()
        document: JsonObject = response.json()
        return document


def operation(document: Mapping[str, Any], method: str, path: str) -> JsonObject | None:
    """The operation object of ``method path`` (``path`` as templated in the document)."""
    item = document.get("paths", {}).get(path)
    if not isinstance(item, dict):
        return None
    found = item.get(method.lower())
    return found if isinstance(found, dict) else None


def find_path(document: Mapping[str, Any], method: str, pattern: str) -> str | None:
    """The first path matching the regular expression ``pattern`` that has ``method``."""
    regex = re.compile(pattern)
    for path, item in document.get("paths", {}).items():
        if regex.fullmatch(path) and isinstance(item, dict) and method.lower() in item:
            return str(path)
    return None


def operations_under(document: Mapping[str, Any], prefix: str) -> list[str]:
    """``"METHOD /path"`` of every operation whose path starts with ``prefix``."""
    found: list[str] = []
    for path, item in document.get("paths", {}).items():
        if str(path).startswith(prefix) and isinstance(item, dict):
            found += [f"{m.upper()} {path}" for m in item if m in _METHODS]
    return found


def query_parameters(document: Mapping[str, Any], op: Mapping[str, Any]) -> set[str]:
    """The names of an operation's query parameters."""
    names: set[str] = set()
    for raw in op.get("parameters", []):
        param = _resolve(document, raw)
        if param.get("in") == "query" and isinstance(param.get("name"), str):
            names.add(param["name"])
    return names


def request_body_problems(document: Mapping[str, Any], op: Mapping[str, Any],
                          body: Any) -> list[str]:
    """Why the operation's JSON request schema would refuse ``body`` (empty: it looks fine).

    Checks what a payload written before its API most often gets wrong: required properties
    missing, and properties a closed schema does not know, recursively; for ``oneOf`` /
    ``anyOf`` the closest alternative's problems. Types and formats are left to the service.
    """
    content = _resolve(document, op.get("requestBody", {})).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return [] if body is None else ["the operation takes no JSON body"]
    return _problems(document, schema, body, "body")


_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _resolve(document: Mapping[str, Any], node: Any) -> JsonObject:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return {}
        target: Any = document
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) \
                if isinstance(target, dict) else {}
        node = target
        seen += 1
    return node if isinstance(node, dict) else {}


def _problems(document: Mapping[str, Any], raw_schema: Any, value: Any, where: str) -> list[str]:
    schema = _resolve(document, raw_schema)
    for combinator in ("oneOf", "anyOf"):
        choices = schema.get(combinator)
        if isinstance(choices, list) and choices:
            candidates = [_problems(document, choice, value, where) for choice in choices]
            return min(candidates, key=len)
    if isinstance(schema.get("allOf"), list):
        return [p for part in schema["allOf"] for p in _problems(document, part, value, where)]
    if not isinstance(value, dict) or schema.get("type") not in (None, "object"):
        return []
    problems: list[str] = []
    properties = schema.get("properties", {}) or {}
    for name in schema.get("required", []) or []:
        if name not in value:
            problems.append(f"{where}.{name} is required")
    if schema.get("additionalProperties") is False:
        problems += [f"{where}.{name} is not a known field" for name in value
                     if name not in properties]
    for name, sub in properties.items():
        if name in value:
            problems += _problems(document, sub, value[name], f"{where}.{name}")
    return problems
