"""Cursor pagination: ``limit`` and an opaque ``cursor`` in, ``items`` and ``next_cursor`` out.

Pages are keyset pages over a unique, ordered key (for example ``(created_at, id)``), so they
stay stable while rows are added and cost the same on page 1 and page 10,000.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Integer, Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from lfi_shared.http.problems import FieldError, InvalidRequest

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last page."
    )


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "dt":
            return datetime.fromisoformat(raw)
        if tag == "d":
            return date.fromisoformat(raw)
        if tag == "u":
            return uuid.UUID(raw)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "The cursor is not one this list gave out.",
        errors=[FieldError(field="query.cursor", message="invalid cursor", code="invalid_cursor")],
    )


def decode_cursor(cursor: str, width: int) -> list[Any]:
    """The key values inside ``cursor``; raises :class:`InvalidRequest` for a forged one."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong width")
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise _bad_cursor() from exc


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512,
                                        description="`next_cursor` of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


# (async although it never waits: FastAPI would run a plain function in a worker thread.)
PageQuery = Annotated[PageParams, Depends(page_params)]


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    keys: Sequence[ColumnElement[Any]],
    params: PageParams,
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """Run ``stmt`` (selecting ORM entities or rows) one page at a time, ordered by ``keys``.

    ``keys`` must be unique together (end with the primary key). Returns the page's rows and
    the cursor of the next page (``None`` on the last one).
    """
    if params.cursor is not None:
        after = _decode_after(params.cursor, [_python_type(k) for k in keys])
        key_tuple = tuple_(*keys)
        stmt = stmt.where(key_tuple < tuple_(*after) if descending else key_tuple > tuple_(*after))
    order = [k.desc() for k in keys] if descending else [k.asc() for k in keys]
    stmt = stmt.order_by(*order).limit(params.limit + 1)
    return _page(await session.execute(stmt), params.limit, [_key_name(k) for k in keys])


class KeysetQuery:
    """A keyset-paged query built once, run with different values each time.

    ``stmt`` takes its values as bind parameters (``bindparam("name")``); its first page and
    the pages after a cursor are built here, once, so each request only binds values: no
    statement is assembled and SQLAlchemy reuses the compiled SQL. Pages are as
    :func:`keyset_page` makes them (same cursors).
    """

    def __init__(self, stmt: Select[Any], keys: Sequence[ColumnElement[Any]], *,
                 descending: bool = False) -> None:
        self.keys = list(keys)
        self._names = [_key_name(k) for k in self.keys]
        self._after_names = [f"page_after_{i}" for i in range(len(self.keys))]
        order = [k.desc() for k in self.keys] if descending else [k.asc() for k in self.keys]
        limit = bindparam("page_limit", type_=Integer)
        self._first = stmt.order_by(*order).limit(limit)
        key_tuple = tuple_(*self.keys)
        after = tuple_(*(bindparam(name, type_=k.type)
                         for name, k in zip(self._after_names, self.keys, strict=True)))
        self._next = (stmt.where(key_tuple < after if descending else key_tuple > after)
                      .order_by(*order).limit(limit))
        self._types = [_python_type(k) for k in self.keys]

    async def page(self, session: AsyncSession, params: PageParams,
                   values: Mapping[str, Any]) -> tuple[list[Any], str | None]:
        """One page for ``values`` (the statement's parameters): its rows and the next cursor.

        Raises:
            InvalidRequest: the cursor is not one this list gave out.
        """
        bound = {**values, "page_limit": params.limit + 1}
        stmt = self._first
        if params.cursor is not None:
            after = _decode_after(params.cursor, self._types)
            bound.update(zip(self._after_names, after, strict=True))
            stmt = self._next
        return _page(await session.execute(stmt, bound), params.limit, self._names)


def _decode_after(cursor: str, kinds: Sequence[type | None]) -> list[Any]:
    """The key values of ``cursor``, each of its key's type (a forged cursor is a 422, not a
    database error)."""
    after = decode_cursor(cursor, len(kinds))
    if not all(kind is None or isinstance(value, kind)
               for value, kind in zip(after, kinds, strict=True)):
        raise _bad_cursor()
    return after


def _page(result: Any, limit: int, names: Sequence[str]) -> tuple[list[Any], str | None]:
    """The rows of a ``limit + 1`` query cut to ``limit``, and the next page's cursor."""
    rows = list(result.scalars().all()) if len(result.keys()) == 1 else list(result.all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([getattr(rows[-1], name) for name in names])


def _python_type(key: ColumnElement[Any]) -> type | None:
    try:
        kind = key.type.python_type
    except NotImplementedError:
        return None
    return kind if isinstance(kind, type) else None


def _key_name(key: ColumnElement[Any]) -> str:
    name = getattr(key, "key", None) or getattr(key, "name", None)
    if not isinstance(name, str):
        raise ValueError("pagination keys must be named columns")
    return name
