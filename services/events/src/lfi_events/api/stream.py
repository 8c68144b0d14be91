"""The live stream: Server-Sent Events of newly stored events, resumable with Last-Event-ID.

Each SSE event's ``id`` is the store's ``position``. A client that reconnects with
``Last-Event-ID: N`` first receives every matching event stored after N (read from the store),
then live ones, from the same loop: "read after my last position, wait for a wake-up, read
again". Positions are assigned in commit order (see ``db.store.insert_event``), so nothing is
skipped and nothing sent twice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from lfi_events.api.access import Reader
from lfi_events.db.store import EventFilter, events_after, last_position
from lfi_events.live import LiveFeed
from lfi_events.schemas import StoredEventRead
from lfi_events.settings import Settings
from lfi_shared.db import Database
from lfi_shared.http.problems import PROBLEM_RESPONSES, FieldError, InvalidRequest

router = APIRouter(tags=["events"], responses={**PROBLEM_RESPONSES})


def _resume_point(header: str | None, query: str | None) -> int | None:
    raw = header if header is not None else query
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        field = "header.Last-Event-ID" if header is not None else "query.last_event_id"
        raise InvalidRequest("Last-Event-ID must be an id this stream sent.", errors=[
            FieldError(field=field, message="not a stream position", code="invalid_position")])
    return int(raw)


@router.get(
    "/v1/events/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "One SSE event per stored event: id = position, "
                                    "event = type, data = the stored event (JSON)."}},
)
async def stream_events(
    request: Request, _principal: Reader,
    type_prefix: Annotated[str | None, Query(max_length=200,
                                             description="Event types starting with this.")] = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    correlation_id: Annotated[str | None, Query(max_length=200)] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID",
                                                       max_length=32)] = None,
    last_event_id: Annotated[str | None, Query(
        max_length=32, description="As the Last-Event-ID header, for clients that cannot "
                                   "set it.")] = None,
) -> EventSourceResponse:
    """New events as Server-Sent Events, optionally filtered; resumable with Last-Event-ID."""
    settings: Settings = request.app.state.settings
    database: Database = request.app.state.database
    feed: LiveFeed = request.app.state.runtime.extras["live_feed"]
    filters = EventFilter(type_prefix=type_prefix, subject=subject,
                          correlation_id=correlation_id)
    resume = _resume_point(last_event_id_header, last_event_id)
    if resume is None:
        async with database.transaction() as session:
            resume = await last_position(session)

    async def events(after: int) -> AsyncIterator[ServerSentEvent]:
        while True:
            async with database.transaction() as session:
                rows = await events_after(session, after, filters, settings.live_batch_size)
            for row in rows:
                body = StoredEventRead.model_validate(row).model_dump(mode="json")
                yield ServerSentEvent(data=json.dumps(body, separators=(",", ":")),
                                      id=str(row.position), event=row.type)
                after = row.position
            if len(rows) < settings.live_batch_size:
                await feed.wait(settings.live_poll_interval_s)

    return EventSourceResponse(events(resume), ping=settings.live_ping_s,
                               headers={"Cache-Control": "no-store"})
