"""Dead letters of every consumer (from JetStream advisories) and their redelivery."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from lfi_events.api.access import Operator, Reader
from lfi_events.api.responses import RESPONSES
from lfi_events.db.models import consumer_dead_letters
from lfi_events.schemas import DeadLetterPage, DeadLetterRead
from lfi_events.service import redeliver_dead_letter
from lfi_shared.http.concurrency import IfMatch, check_if_match, set_etag
from lfi_shared.http.deps import SessionDep
from lfi_shared.http.pagination import PageQuery, keyset_page
from lfi_shared.http.problems import NotFound
from lfi_shared.nats_connection import NatsConnection

router = APIRouter(tags=["dead letters"], responses=RESPONSES)


def _version(row: Any) -> int:
    """A dead letter changes once: when it is redelivered."""
    return 1 if row.redelivered_at is None else 2


async def _load(session: SessionDep, letter_id: uuid.UUID) -> Any:
    row = (await session.execute(
        select(consumer_dead_letters).where(consumer_dead_letters.c.id == letter_id))).first()
    if row is None:
        raise NotFound("No such dead letter.")
    return row


@router.get("/v1/dead-letters", response_model=DeadLetterPage)
async def list_dead_letters(
    session: SessionDep, page: PageQuery, _principal: Reader,
    consumer: Annotated[str | None, Query(max_length=200,
                                          description="JetStream durable name.")] = None,
    stream: Annotated[str | None, Query(max_length=200)] = None,
    redelivered: Annotated[bool | None, Query(description="Only (not) redelivered ones.")] = None,
) -> DeadLetterPage:
    """Messages any consumer gave up on, oldest first."""
    c = consumer_dead_letters.c
    stmt = select(consumer_dead_letters)
    if consumer is not None:
        stmt = stmt.where(c.consumer == consumer)
    if stream is not None:
        stmt = stmt.where(c.stream == stream)
    if redelivered is not None:
        stmt = stmt.where(c.redelivered_at.is_not(None) if redelivered
                          else c.redelivered_at.is_(None))
    rows, cursor = await keyset_page(session, stmt, [c.recorded_at, c.id], page)
    return DeadLetterPage(items=[DeadLetterRead.model_validate(r) for r in rows],
                          next_cursor=cursor)


@router.get("/v1/dead-letters/{dead_letter_id}", response_model=DeadLetterRead)
async def get_dead_letter(session: SessionDep, response: Response, _principal: Reader,
                          dead_letter_id: uuid.UUID) -> DeadLetterRead:
    """One dead letter (with its ETag, needed to redeliver it)."""
    row = await _load(session, dead_letter_id)
    set_etag(response, _version(row))
    return DeadLetterRead.model_validate(row)


@router.post("/v1/dead-letters/{dead_letter_id}/redeliver", response_model=DeadLetterRead)
async def redeliver_message(request: Request, session: SessionDep, response: Response,
                            principal: Operator, if_match: IfMatch,
                            dead_letter_id: uuid.UUID) -> DeadLetterRead:
    """Publish the message again, after a fix, so that the consumer that gave up on it
    processes it (once: every other consumer's inbox has it already)."""
    row = await _load(session, dead_letter_id)
    check_if_match(if_match, _version(row))
    nats: NatsConnection = request.app.state.nats
    await redeliver_dead_letter(session, await nats.jetstream(), dead_letter_id,
                                operator=principal.subject)
    row = await _load(session, dead_letter_id)
    set_etag(response, _version(row))
    return DeadLetterRead.model_validate(row)
