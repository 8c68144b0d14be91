"""One OpenAPI document: merged from the services' documents, valid, complete, unambiguous."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import httpx
import pytest
from fastapi import APIRouter, Body, FastAPI
from gateway_harness import dead_url, gateway_settings, serve
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from lfi_gateway.main import create_app
from lfi_gateway.openapi.merge import HTTP_METHODS, STANDARD_ERRORS, merge_openapi
from lfi_gateway.openapi.offline import APP_FACTORIES, build_offline_document, service_document
from lfi_gateway.routing import SERVICES, service_of
from lfi_shared.app import operation_id_from_name
from lfi_shared.auth import CurrentPrincipal, LocalKeyPair
from lfi_shared.http.problems import PROBLEM_RESPONSES

# --- two small services shaped like ours, with every kind of clash ----------------------------


class ReferralRead(BaseModel):
    referral_id: str


class ChildSubject(BaseModel):
    kind: Literal["child"]
    child_id: str


class Cohort(BaseModel):  # "Cohort" means something else in placements
    kind: Literal["cohort"]
    year_group: str


class ReferralCreate(BaseModel):
    subject: Annotated[ChildSubject | Cohort, Field(discriminator="kind")]


class Page(BaseModel):  # "Page" of referrals here, of placements there
    items: list[ReferralRead]
    next_cursor: str | None = None


def referrals_app() -> FastAPI:
    app = FastAPI(title="referrals", description="Referrals.",
                  generate_unique_id_function=operation_id_from_name)
    router = APIRouter(prefix="/v1/referrals", tags=["referrals"], responses=PROBLEM_RESPONSES)

    @router.get("", response_model=Page)
    async def list_items(principal: CurrentPrincipal) -> Page:
        raise NotImplementedError


    @router.get("/{referral_id}", response_model=ReferralRead)
    async def get_referral(referral_id: str, principal: CurrentPrincipal) -> ReferralRead:
        raise NotImplementedError

    app.include_router(router)

    # No problem responses declared: FastAPI describes its own 422, which no service sends.
    @app.post("/v1/referrals", status_code=201, response_model=ReferralRead)
    async def submit_referral(principal: CurrentPrincipal,
                              body: Annotated[ReferralCreate, Body()]) -> ReferralRead:
        raise NotImplementedError

    return app


def placements_app() -> FastAPI:
    # The same names as in referrals, other shapes.
    class Cohort(BaseModel):
        provision_id: str
        places: int

    class Page(BaseModel):
        items: list[Cohort]

    app = FastAPI(title="placements", description="Placements.",
                  generate_unique_id_function=operation_id_from_name)

    @app.get("/v1/placements", response_model=Page, responses=PROBLEM_RESPONSES)
    async def list_items(principal: CurrentPrincipal, zone: str | None = None) -> Any:
        raise NotImplementedError

    @app.get("/v1/referrals/hijacked")  # not placements' path: must be reported
    async def hijack() -> dict[str, str]:
        raise NotImplementedError

    @app.get("/health/live")
    async def health_live() -> dict[str, str]:
        raise NotImplementedError

    return app


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key == "mapping" and isinstance(value, dict):
                yield from (v for v in value.values() if isinstance(v, str))
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(path, method): item[method] for path, item in document["paths"].items()
            for method in HTTP_METHODS if method in item}


def _assert_refs_resolve(document: dict[str, Any]) -> None:
    for ref in _refs(document):
        assert ref.startswith("#/components/"), ref
        section, name = ref.removeprefix("#/components/").split("/", 1)
        assert name in document["components"].get(section, {}), ref


def _assert_complete(merged: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    """Every routed operation of every service is in ``merged``, under ``<service>_<id>``."""
    operations = _operations(merged)
    for name, document in services.items():
        for (path, method), operation in _operations(document).items():
            if service_of(path) != name:
                continue
            assert (path, method) in operations, (name, method, path)
            assert operations[(path, method)]["operationId"] == f"{name}_{operation['operationId']}"
    ids = [operation["operationId"] for operation in operations.values()]
    assert len(ids) == len(set(ids))


def _assert_v1_conventions(merged: dict[str, Any]) -> None:
    for (path, _), operation in _operations(merged).items():
        if not path.startswith("/v1"):
            assert operation["security"] == []
            continue
        assert operation["security"] == [{"bearerAuth": []}]
        for status in STANDARD_ERRORS:
            assert status in operation["responses"], (path, status)
    assert merged["components"]["securitySchemes"] == {"bearerAuth": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": merged["components"]["securitySchemes"]["bearerAuth"]["description"]}}


def test_merge_renames_clashes_prefixes_ids_and_adds_the_conventions() -> None:
    gateway = create_app(gateway_settings_offline()).openapi()
    services = {"referrals": referrals_app().openapi(), "placements": placements_app().openapi()}
    merged = merge_openapi(gateway, services, version="9.9.9",
                           asyncapi_url="http://gateway.test/v1/asyncapi.json",
                           missing=["funding", "events"])

    validate(merged)
    _assert_refs_resolve(merged)
    _assert_complete(merged, services)
    _assert_v1_conventions(merged)
    assert merged["openapi"] == "3.1.0"
    schemas = merged["components"]["schemas"]
    assert {"Referrals_Page", "Placements_Page", "Referrals_Cohort", "Placements_Cohort"} <= set(
        schemas)
    assert "Page" not in schemas and "Cohort" not in schemas
    # the shared problem schema is one schema, and FastAPI's validation error is gone
    assert "Problem" in schemas and "Referrals_Problem" not in schemas
    assert "HTTPValidationError" not in schemas
    listing = merged["paths"]["/v1/referrals"]["get"]
    assert listing["operationId"] == "referrals_list_items"
    assert merged["paths"]["/v1/placements"]["get"]["operationId"] == "placements_list_items"
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Referrals_Page"}
    submit = merged["paths"]["/v1/referrals"]["post"]
    assert submit["responses"]["422"] == {"$ref": "#/components/responses/ValidationFailed"}
    assert listing["responses"]["401"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"}
    mapping = schemas["ReferralCreate"]["properties"]["subject"]["discriminator"]["mapping"]
    assert mapping["cohort"] == "#/components/schemas/Referrals_Cohort"
    # what the gateway cannot reach is not in the document, and is said so
    assert "/v1/referrals/hijacked" not in merged["paths"]
    assert "/health/live" in merged["paths"]  # the gateway's own, not placements'
    assert merged["paths"]["/health/live"]["get"]["operationId"] == "gateway_health_live"
    assert merged["x-lfi-unrouted-paths"] == {"placements": ["/v1/referrals/hijacked"]}
    assert merged["x-lfi-missing-services"] == ["events", "funding"]
    assert {tag["name"] for tag in merged["tags"]} == {"gateway", "referrals", "placements"}
    assert listing["tags"] == ["referrals"]
    assert merged["x-asyncapi"]["url"] == merged["externalDocs"]["url"] == (
        "http://gateway.test/v1/asyncapi.json")


def gateway_settings_offline() -> Any:
    from lfi_gateway.settings import Settings

    return Settings(environment="test")


def test_offline_document_holds_every_operation_of_every_service() -> None:
    merged = build_offline_document(gateway_settings_offline())
    services = {name: service_document(path) for name, path in APP_FACTORIES.items()}

    validate(merged)
    _assert_refs_resolve(merged)
    _assert_complete(merged, services)
    _assert_v1_conventions(merged)
    assert "x-lfi-unrouted-paths" not in merged, merged.get("x-lfi-unrouted-paths")
    assert merged["x-lfi-missing-services"] == []
    routed = {path for document in services.values() for path in document["paths"]
              if service_of(path) is not None}
    assert set(merged["paths"]) == routed | {"/health", "/health/live", "/health/ready"}


@contextlib.contextmanager
def real_services(*down: str) -> Iterator[dict[str, str]]:
    """Each service's real app (built, not started: no database needed for its document)."""
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for name, path in APP_FACTORIES.items():
            if name in down:
                urls[name] = dead_url()
                continue
            module, _, function = path.partition(":")
            factory = getattr(__import__(module, fromlist=[function]), function)
            urls[name] = stack.enter_context(serve(factory(), lifespan="off"))
        yield urls


def test_running_gateway_serves_the_merged_document_of_the_running_services(
        local_keys: LocalKeyPair) -> None:
    with real_services() as urls, serve(create_app(gateway_settings(
            local_keys.jwks_path, **{f"{name}_url": url for name, url in urls.items()}))) as url, \
            httpx.Client(base_url=url, trust_env=False, timeout=90) as http:
        live = http.get("/openapi.json")
        docs = http.get("/docs")
    assert live.status_code == 200
    document = live.json()
    validate(document)
    offline = build_offline_document(gateway_settings_offline())
    assert document["paths"] == offline["paths"]
    assert document["components"] == offline["components"]
    assert document["x-lfi-missing-services"] == []
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


@pytest.mark.parametrize("down", ["funding"])
def test_a_service_that_is_down_is_reported_not_fatal(local_keys: LocalKeyPair,
                                                      down: str) -> None:
    with real_services(down) as urls, serve(create_app(gateway_settings(
            local_keys.jwks_path, **{f"{name}_url": url for name, url in urls.items()}))) as url, \
            httpx.Client(base_url=url, trust_env=False, timeout=90) as http:
        response = http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["x-lfi-missing-services"] == [down]
    assert set(document["x-lfi-services"]) == set(SERVICES) - {down}
