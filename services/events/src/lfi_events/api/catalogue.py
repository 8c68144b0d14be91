"""The event catalogue: event types, their JSON Schemas, the AsyncAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from lfi_events import __version__
from lfi_events.api.access import CatalogueReader
from lfi_events.domain.asyncapi import asyncapi_document
from lfi_events.domain.catalogue import (
    contract_schema,
    envelope_schema,
    event_type_summary,
    find_contract,
)
from lfi_events.schemas import EventTypePage, EventTypeRead
from lfi_shared.http.problems import PROBLEM_RESPONSES, NotFound
from lfi_shared.messaging import EventCatalogue

router = APIRouter(tags=["catalogue"], responses={**PROBLEM_RESPONSES})


def _catalogue(request: Request) -> EventCatalogue:
    catalogue: EventCatalogue = request.app.state.catalogue
    return catalogue


@router.get("/v1/event-types", response_model=EventTypePage)
async def list_event_types(
    request: Request, _principal: CatalogueReader,
    producer: Annotated[str | None, Query(max_length=50, pattern=r"^[a-z][a-z0-9_]*$",
                                          description="Only this service's types.")] = None,
) -> EventTypePage:
    """Every event type the platform publishes (one page: the catalogue is small)."""
    items = [
        EventTypeRead(**event_type_summary(contract),
                      schema_url=f"/v1/event-types/{contract.event_type}")
        for contract in _catalogue(request)
        if producer is None or contract.producer() == producer
    ]
    return EventTypePage(items=items, next_cursor=None)


@router.get(
    "/v1/event-types/{event_type}",
    responses={200: {"content": {"application/schema+json": {}}}, 404: PROBLEM_RESPONSES[403]},
)
async def get_event_type_schema(
    request: Request, _principal: CatalogueReader,
    event_type: Annotated[str, Path(max_length=200)],
    envelope: Annotated[bool, Query(description="The whole CloudEvents envelope's schema "
                                                "instead of its data's.")] = False,
) -> JSONResponse:
    """The JSON Schema (2020-12) of one event type's data (or of its whole envelope)."""
    contract = find_contract(_catalogue(request), event_type)
    if contract is None:
        raise NotFound(f"No event type {event_type!r} in the catalogue.")
    schema: dict[str, Any] = envelope_schema(contract) if envelope else contract_schema(contract)
    return JSONResponse(schema, media_type="application/schema+json")


@router.get("/v1/asyncapi.json", responses={200: {"content": {"application/json": {}}}})
async def get_asyncapi_document(request: Request, _principal: CatalogueReader) -> JSONResponse:
    """The AsyncAPI 3.0 document of every event (NATS subjects, CloudEvents payloads)."""
    return JSONResponse(asyncapi_document(_catalogue(request), version=__version__))
