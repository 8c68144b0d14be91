"""What the referral endpoints share: settings, the purpose of an access, the request's ids,
and the session of an operation whose every change is one statement.

The dependencies are ``async def`` although they never wait: FastAPI runs a plain ``def``
dependency in a worker thread, a hand-off that costs far more than the function itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from weakref import WeakKeyDictionary

from fastapi import Depends, Header, Query, Request
from sqlalchemy import event
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from lfi_referrals.settings import Settings
from lfi_shared.db import Database


async def settings_of(request: Request) -> Settings:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]


async def stated_purpose(
    x_purpose: Annotated[str | None, Header(
        alias="X-Purpose", max_length=200,
        description="Why the child's record is accessed (written to the access log).")] = None,
    purpose: Annotated[str | None, Query(
        max_length=200, description="As X-Purpose, for clients that cannot set headers.")] = None,
) -> str | None:
    return x_purpose or purpose


PurposeDep = Annotated[str | None, Depends(stated_purpose)]


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def traceparent_of(request: Request) -> str | None:
    trace = getattr(request.state, "trace", None)
    value = getattr(trace, "traceparent", None)
    return value if isinstance(value, str) else None


class OneStatementSession(Session):
    """The session of an operation whose every change is one statement (a create with its
    access-log row and idempotency key, a transition with its events and access-log row: see
    :mod:`lfi_referrals.service.referrals`). Each statement commits on its own (autocommit), so
    no BEGIN or COMMIT round trip is made; a statement is atomic, and a change guarded by the
    version it read needs no row lock held between its read and its write. The unit of work
    is refused (a flush of changed objects would be several statements, each committed alone).
    """


def _refuse_flush(session: Session, flush_context: Any, instances: Any) -> None:
    raise InvalidRequestError("a one-statement session writes no ORM objects: "
                              "use the request's transaction (SessionDep)")


event.listen(OneStatementSession, "before_flush", _refuse_flush)

_ONE_STATEMENT_SESSIONS: WeakKeyDictionary[Database, async_sessionmaker[AsyncSession]] = (
    WeakKeyDictionary())


def one_statement_sessions(database: Database) -> async_sessionmaker[AsyncSession]:
    """The factory of :class:`OneStatementSession` on ``database``'s pool (made once)."""
    factory = _ONE_STATEMENT_SESSIONS.get(database)
    if factory is None:
        # Same pool; a connection is in autocommit only while such a session holds it.
        factory = async_sessionmaker(
            database.engine.execution_options(isolation_level="AUTOCOMMIT"),
            sync_session_class=OneStatementSession, expire_on_commit=False)
        _ONE_STATEMENT_SESSIONS[database] = factory
    return factory


async def one_statement_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's :class:`OneStatementSession`, closed before the response is sent."""
    database: Database = request.app.state.database
    async with one_statement_sessions(database)() as session:
        yield session


OneStatementSessionDep = Annotated[AsyncSession, Depends(one_statement_session,
                                                         scope="function")]
