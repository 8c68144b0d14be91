"""``/v1/funding/panels``: meetings of the Element 3 Funding Panel and their agendas."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import ColumnElement, select

from lfi_funding.api.deps import RESPONSES, ContextDep, idempotency, manage, read_all
from lfi_funding.api.representations import panel_read
from lfi_funding.db.models import Panel
from lfi_funding.schemas import AgendaAdd, PanelCreate, PanelPage, PanelRead
from lfi_funding.service import applications
from lfi_shared.http.concurrency import IfMatch, etag_for, set_etag
from lfi_shared.http.idempotency import CreatedResponse, IdempotencyKey
from lfi_shared.http.pagination import PageQuery, keyset_page

router = APIRouter(prefix="/v1/funding/panels", tags=["panels"], responses=RESPONSES)


@router.post("", status_code=201, response_model=PanelRead, dependencies=[manage])
async def create_panel(body: PanelCreate, ctx: ContextDep,
                       key: IdempotencyKey = None) -> Response:
    """Schedule a panel meeting."""
    async def create() -> CreatedResponse:
        panel = await applications.create_panel(ctx, meeting_on=body.meeting_on,
                                                title=body.title,
                                                financial_year=body.financial_year)
        return CreatedResponse(201, panel_read(panel, []).model_dump(mode="json"),
                               {"ETag": etag_for(panel.version),
                                "Location": f"/v1/funding/panels/{panel.id}"})

    return await idempotency.run(ctx.session, key=key, owner=ctx.actor,
                                 operation="create_panel", payload=body, create=create)


@router.get("", response_model=PanelPage, dependencies=[read_all])
async def list_panels(ctx: ContextDep, page: PageQuery) -> PanelPage:
    """Panels by meeting date."""
    keys: list[ColumnElement[Any]] = [Panel.meeting_on.expression, Panel.id.expression]
    rows, cursor = await keyset_page(ctx.session, select(Panel), keys, page)
    return PanelPage(items=[panel_read(p, await applications.agenda_of(ctx.session, p.id))
                            for p in rows], next_cursor=cursor)


@router.get("/{panel_id}", response_model=PanelRead, dependencies=[read_all])
async def read_panel(panel_id: uuid.UUID, ctx: ContextDep, response: Response) -> PanelRead:
    panel = await applications.load_panel(ctx.session, panel_id)
    set_etag(response, panel.version)
    return panel_read(panel, await applications.agenda_of(ctx.session, panel.id))


@router.post("/{panel_id}/agenda", response_model=PanelRead, dependencies=[manage])
async def add_to_agenda(panel_id: uuid.UUID, body: AgendaAdd, ctx: ContextDep,
                        if_match: IfMatch, response: Response) -> PanelRead:
    """List a submitted application on the agenda (If-Match: the panel's ETag); a deferred
    application may be moved to a later panel the same way."""
    panel = await applications.place_on_agenda(ctx, panel_id, if_match, body.application_id)
    set_etag(response, panel.version)
    return panel_read(panel, await applications.agenda_of(ctx.session, panel.id))
