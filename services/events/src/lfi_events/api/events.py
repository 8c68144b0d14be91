"""The event store: queries, timelines, rejections, replays."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy import select

from lfi_events.api.access import Operator, Reader
from lfi_events.api.responses import RESPONSES
from lfi_events.db.models import platform, rejected_events, replays, stored_events
from lfi_events.db.store import EventFilter, events_query, timeline_query
from lfi_events.schemas import (
    RejectedEventPage,
    RejectedEventRead,
    ReplayCreate,
    ReplayRead,
    StoredEventPage,
    StoredEventRead,
    TimelineRead,
)
from lfi_events.service import request_replay
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey, IdempotencyStore
from lfi_shared.http.pagination import PageQuery, keyset_page
from lfi_shared.http.problems import FieldError, InvalidRequest, NotFound
from lfi_shared.http.temporal import IsoDateTime

router = APIRouter(tags=["events"], responses=RESPONSES)
idempotency = IdempotencyStore(platform.idempotency)

TypeQuery = Annotated[str | None, Query(max_length=200, description="Exact event type.")]
TypePrefixQuery = Annotated[str | None, Query(max_length=200,
                                              description="Event types starting with this.")]
TextQuery = Annotated[str | None, Query(max_length=200)]


def _filters(type: str | None, type_prefix: str | None, source: str | None,
             subject: str | None, correlation_id: str | None, time_from: datetime | None,
             time_to: datetime | None) -> EventFilter:
    for name, value in (("time_from", time_from), ("time_to", time_to)):
        if value is not None and value.tzinfo is None:
            raise InvalidRequest("Times need a UTC offset.", errors=[FieldError(
                field=f"query.{name}", message="give a UTC offset, e.g. Z", code="no_offset")])
    if time_from is not None and time_to is not None and time_to <= time_from:
        raise InvalidRequest("time_to must be after time_from.", errors=[FieldError(
            field="query.time_to", message="must be after time_from", code="range")])
    return EventFilter(type=type, type_prefix=type_prefix, source=source, subject=subject,
                       correlation_id=correlation_id, time_from=time_from, time_to=time_to)


@router.get("/v1/events", response_model=StoredEventPage)
async def list_events(
    session: SessionDep, page: PageQuery, _principal: Reader,
    type: TypeQuery = None, type_prefix: TypePrefixQuery = None, source: TextQuery = None,
    subject: TextQuery = None, correlation_id: TextQuery = None,
    time_from: Annotated[IsoDateTime | None, Query(description="Event time, inclusive.")] = None,
    time_to: Annotated[IsoDateTime | None, Query(description="Event time, exclusive.")] = None,
) -> StoredEventPage:
    """Stored events, oldest first (store order), filtered; cursor pages."""
    filters = _filters(type, type_prefix, source, subject, correlation_id, time_from, time_to)
    rows, cursor = await keyset_page(session, events_query(filters),
                                     [stored_events.c.position], page)
    return StoredEventPage(items=[StoredEventRead.model_validate(r) for r in rows],
                           next_cursor=cursor)


@router.get("/v1/events/rejections", response_model=RejectedEventPage)
async def list_rejected_events(session: SessionDep, page: PageQuery,
                               _principal: Reader) -> RejectedEventPage:
    """Events the store refused (personal data, schema mismatch, unknown type), oldest first."""
    rows, cursor = await keyset_page(session, select(rejected_events),
                                     [rejected_events.c.position], page)
    return RejectedEventPage(items=[RejectedEventRead.model_validate(r) for r in rows],
                             next_cursor=cursor)


@router.get("/v1/events/timelines/{referral_id}", response_model=TimelineRead)
async def get_referral_timeline(
    request: Request, session: SessionDep, _principal: Reader, referral_id: uuid.UUID,
) -> TimelineRead:
    """Every event about one referral, from every service, in order (time, stream sequence).

    An event belongs to the referral's journey when its subject, its correlation id or its
    ``data.referral_id`` is the referral's id. An unknown referral has an empty timeline.
    """
    limit: int = request.app.state.settings.timeline_max_events
    rows = (await session.execute(timeline_query(str(referral_id), limit + 1))).all()
    return TimelineRead(referral_id=str(referral_id),
                        items=[StoredEventRead.model_validate(r) for r in rows[:limit]],
                        next_cursor=None)


def _replay_read(row: Any) -> ReplayRead:
    values = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    return ReplayRead(**values, replay_subject=f"lfi.replays.{values['consumer']}.>")


@router.post("/v1/events/replays", status_code=status.HTTP_202_ACCEPTED,
             response_model=ReplayRead)
async def replay_events(body: ReplayCreate, session: SessionDep, principal: Operator,
                        key: IdempotencyKey = None) -> Response:
    """Queue a replay of stored events (a subject filter and a time or position range) to a
    named consumer, published on ``lfi.replays.<consumer>.<type>`` (see the service docs)."""

    async def create() -> CreatedResponse:
        row = await request_replay(session, operator=principal.subject,
                                   **body.model_dump())
        read = _replay_read(row)
        return CreatedResponse(status_code=202, body=read.model_dump(mode="json"),
                               headers={"Location": f"/v1/events/replays/{read.id}"})

    return await idempotency.run(session, key=key, owner=principal.subject,
                                 operation="replay_events", payload=body.model_dump(mode="json"),
                                 create=create)


@router.get("/v1/events/replays/{replay_id}", response_model=ReplayRead)
async def get_replay(session: SessionDep, _principal: Reader, replay_id: uuid.UUID) -> ReplayRead:
    """A replay's progress."""
    row = (await session.execute(select(replays).where(replays.c.id == replay_id))).first()
    if row is None:
        raise NotFound("No such replay.")
    return _replay_read(row)


@router.get("/v1/events/{event_id}", response_model=StoredEventRead)
async def get_event(session: SessionDep, _principal: Reader,
                    event_id: Annotated[uuid.UUID, Path()]) -> StoredEventRead:
    """One stored event by its id."""
    row = (await session.execute(select(stored_events).where(stored_events.c.id == event_id))
           ).first()
    if row is None:
        raise NotFound("No stored event with this id.")
    return StoredEventRead.model_validate(row)
