"""Typed dependencies for endpoints: the request's session (one transaction, or reads only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_shared.db import Database


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: one transaction, committed once when the endpoint returns.

    Declared with ``scope="function"`` so the commit happens before the response is sent:
    a failed commit becomes an error response, never a 2xx for a change that was lost.
    """
    database: Database = request.app.state.database
    async with database.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


async def reading_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The session of a request that only reads (:meth:`Database.reading`): no transaction,
    so no BEGIN or COMMIT round trip; it refuses to write."""
    database: Database = request.app.state.database
    async with database.reading() as session:
        yield session


ReadingSessionDep = Annotated[AsyncSession, Depends(reading_session, scope="function")]
