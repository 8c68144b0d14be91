"""One OpenAPI 3.1 document from the gateway's own and each service's.

Decisions (the frontend team generates its client from the result):

* **Paths**: each service contributes the paths the routing table sends to it; its other
  paths (its own ``/health/*``) are not reachable through the gateway and are left out. A
  ``/v1`` path a service serves but the routing table sends elsewhere is listed under
  ``x-lfi-unrouted-paths`` (a bug: the tests keep it empty).
* **Operation ids** are always prefixed with their service: ``referrals_submit_referral``,
  ``gateway_health``. Always, not only on a clash, so that an id never changes because another
  service added an operation: the generated client's names stay stable.
* **Components** are merged by :mod:`lfi_gateway.openapi.components`: same name and definition
  → one; a clash → ``Referrals_Page`` / ``Funding_Page``, references rewritten.
* **Security**: a ``bearerAuth`` scheme (HTTP bearer, JWT) on every ``/v1`` operation; the
  gateway's own operations are public.
* **Errors**: the RFC 9457 ``Problem`` schema, and 401, 403, 422, 429 and 503 problem responses
  on every ``/v1`` operation (an operation's own description of one of them is kept, except
  FastAPI's default 422, which the services never send: they answer with a problem).
* **Tags**: one per service (``referrals`` ...) plus ``gateway``; a service's own tags are
  kept in the operation's ``x-lfi-service-tags``.
* **Events**: ``externalDocs`` and ``x-asyncapi`` link the events service's AsyncAPI document.
* **Gaps**: services whose document could not be had are named in ``x-lfi-missing-services``
  (and served from an older copy, if any, named in ``x-lfi-stale-services``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from lfi_gateway.openapi.components import (
    GATEWAY_SOURCE,
    JsonObject,
    prune_schemas,
    rewrite_refs,
    unify_components,
)
from lfi_gateway.routing import SERVICES, service_of
from lfi_shared.http.problems import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BEARER_SCHEME = "bearerAuth"
PROBLEM_REF = "#/components/schemas/Problem"

# Status → (component name, description) of the problem responses every /v1 operation has.
STANDARD_ERRORS: dict[str, tuple[str, str]] = {
    "401": ("Unauthorized", "The bearer token is missing or not valid."),
    "403": ("Forbidden", "The token is valid, but its roles or scopes do not allow this."),
    "422": ("ValidationFailed", "The request is not valid; `errors` lists each field."),
    "429": ("TooManyRequests", "Too many requests from this client; see Retry-After."),
    "503": ("ServiceUnavailable", "The service (or the identity provider) is unavailable."),
}
# And those of every /v1 operation that takes a request body.
BODY_ERRORS: dict[str, tuple[str, str]] = {
    "400": ("BadRequest", "The body cannot be read (e.g. not text in the declared encoding)."),
    "413": ("PayloadTooLarge", "The body is larger than the gateway accepts."),
}

DESCRIPTION = """\
The Local First Inclusion API of Norfolk County Council's Children's Services: one URL space
behind the gateway, merged from the services' own documents.

* Every `/v1` operation needs an OAuth 2.0 bearer token (`Authorization: Bearer …`).
* Errors are RFC 9457 problems (`application/problem+json`).
* Operation ids are `<service>_<operation>` (e.g. `referrals_submit_referral`).
* Requests are rate limited per client (429 with `Retry-After`); request bodies are limited in
  size (413).
* Events are described by the events service's AsyncAPI document (see `x-asyncapi`).
"""


def problem_components() -> JsonObject:
    """The ``Problem`` and ``FieldError`` schemas exactly as FastAPI writes them in a service."""

    async def problem() -> None:  # pragma: no cover - never called, only described
        return None

    route = APIRoute("/problem", problem, responses=PROBLEM_RESPONSES)
    document = get_openapi(title="problem", version="0", routes=[route])
    schemas: JsonObject = document["components"]["schemas"]
    return {name: schemas[name] for name in ("Problem", "FieldError")}


def standard_components() -> JsonObject:
    """The components the gateway adds: problem schema, error responses, bearer scheme."""
    responses: JsonObject = {}
    for status, (name, description) in {**STANDARD_ERRORS, **BODY_ERRORS}.items():
        response: JsonObject = {
            "description": description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
        }
        if status == "429":
            response["headers"] = {"Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer", "minimum": 1},
            }}
        if status == "401":
            response["headers"] = {"WWW-Authenticate": {
                "description": "The RFC 6750 bearer challenge.", "schema": {"type": "string"},
            }}
        responses[name] = response
    return {
        "schemas": problem_components(),
        "responses": responses,
        "securitySchemes": {BEARER_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An OAuth 2.0 access token from the council's identity provider "
                           "(Microsoft Entra ID).",
        }},
    }


def _operations(paths: Mapping[str, Any]) -> Iterable[tuple[str, str, JsonObject]]:
    for path, item in paths.items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                yield path, method, operation


def _is_fastapi_default_422(response: Any) -> bool:
    if not isinstance(response, dict):
        return False
    content = response.get("content", {})
    return any(
        isinstance(media, dict)
        and media.get("schema", {}).get("$ref") == "#/components/schemas/HTTPValidationError"
        for media in content.values()
    )


def _selected_paths(source: str, document: Mapping[str, Any],
                    unrouted: dict[str, list[str]]) -> JsonObject:
    paths: JsonObject = document.get("paths", {})
    if source == GATEWAY_SOURCE:
        return dict(paths)
    chosen: JsonObject = {}
    for path, item in paths.items():
        owner = service_of(path)
        if owner == source:
            chosen[path] = item
        elif path.startswith("/v1"):
            unrouted.setdefault(source, []).append(path)
    return chosen


def _strip_bearer_schemes(components: JsonObject) -> None:
    """Drop a service's own HTTP bearer scheme(s): ``bearerAuth`` replaces them."""
    schemes = components.get("securitySchemes", {})
    for name in [n for n, s in schemes.items()
                 if isinstance(s, dict) and s.get("type") == "http"
                 and str(s.get("scheme", "")).lower() == "bearer"]:
        del schemes[name]
    if "securitySchemes" in components and not schemes:
        del components["securitySchemes"]


def _fallback_operation_id(method: str, path: str) -> str:
    return f"{method}_{re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_')}"


def _decorate(source: str, path: str, method: str, operation: JsonObject,
              seen_ids: set[str]) -> None:
    base = f"{source}_{operation.get('operationId') or _fallback_operation_id(method, path)}"
    operation_id, counter = base, 2
    while operation_id in seen_ids:
        operation_id, counter = f"{base}_{counter}", counter + 1
    seen_ids.add(operation_id)
    operation["operationId"] = operation_id
    own_tags = operation.get("tags") or []
    if own_tags and own_tags != [source]:
        operation["x-lfi-service-tags"] = own_tags
    operation["tags"] = [source]
    if not path.startswith("/v1"):
        operation["security"] = []
        return
    operation["security"] = [{BEARER_SCHEME: []}]
    responses: JsonObject = operation.setdefault("responses", {})
    for status, (name, _) in STANDARD_ERRORS.items():
        responses.setdefault(status, {"$ref": f"#/components/responses/{name}"})
    if "requestBody" in operation:
        for status, (name, _) in BODY_ERRORS.items():
            responses.setdefault(status, {"$ref": f"#/components/responses/{name}"})


def merge_openapi(
    gateway: Mapping[str, Any],
    services: Mapping[str, Mapping[str, Any]],
    *,
    version: str,
    asyncapi_url: str,
    missing: Iterable[str] = (),
    stale: Iterable[str] = (),
) -> JsonObject:
    """The merged document of the gateway's own document and each service's.

    ``services`` maps a service name (as in the routing table) to its document; ``missing``
    and ``stale`` name services reported in the extensions.
    """
    sources: dict[str, JsonObject] = {GATEWAY_SOURCE: copy.deepcopy(dict(gateway))}
    ordered = [name for name in SERVICES if name in services]
    ordered += [name for name in services if name not in SERVICES]
    for name in ordered:
        sources[name] = copy.deepcopy(dict(services[name]))
    sources[GATEWAY_SOURCE].setdefault("components", {})
    for section, entries in standard_components().items():
        sources[GATEWAY_SOURCE]["components"].setdefault(section, {}).update(entries)

    unrouted: dict[str, list[str]] = {}
    selected: dict[str, JsonObject] = {}
    for name, source in sources.items():
        paths = _selected_paths(name, source, unrouted)
        for _, _, operation in _operations(paths):
            if _is_fastapi_default_422(operation.get("responses", {}).get("422")):
                del operation["responses"]["422"]
        selected[name] = paths
        if name != GATEWAY_SOURCE:
            _strip_bearer_schemes(source.setdefault("components", {}))

    components, renames = unify_components(
        {name: source.get("components", {}) for name, source in sources.items()})

    merged_paths: JsonObject = {}
    seen_ids: set[str] = set()
    for name, paths in selected.items():
        rewritten: JsonObject = rewrite_refs(paths, renames[name])
        for path in sorted(rewritten):
            if path in merged_paths:
                continue  # the routing table gives each path one owner; the gateway's first
            for method, operation in ((m, rewritten[path].get(m)) for m in HTTP_METHODS):
                if isinstance(operation, dict):
                    _decorate(name, path, method, operation, seen_ids)
            merged_paths[path] = rewritten[path]

    tags = [{"name": GATEWAY_SOURCE,
             "description": "The gateway itself: the readiness of the whole platform."}]
    service_versions: JsonObject = {}
    for name in ordered:
        info = sources[name].get("info", {})
        tags.append({"name": name, "description": info.get("description") or name})
        service_versions[name] = {"title": info.get("title"), "version": info.get("version")}

    document: JsonObject = {
        "openapi": "3.1.0",
        "info": {
            "title": "Local First Inclusion API",
            "version": version,
            "description": DESCRIPTION,
        },
        "externalDocs": {
            "description": "The events published by the services (AsyncAPI)",
            "url": asyncapi_url,
        },
        "tags": tags,
        "paths": merged_paths,
        "components": components,
        "x-asyncapi": {"url": asyncapi_url},
        "x-lfi-services": service_versions,
        "x-lfi-missing-services": sorted(set(missing)),
        "x-lfi-stale-services": sorted(set(stale)),
    }
    if unrouted:
        document["x-lfi-unrouted-paths"] = {k: sorted(v) for k, v in unrouted.items()}
    prune_schemas(document)
    return document
