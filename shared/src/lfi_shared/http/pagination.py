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
from sqlalchemy import (
    Integer,
    Select,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from lfi_shared.db import DriverQuery
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


def _ordered(stmt: Select[Any], keys: Sequence[ColumnElement[Any]], descending: bool,
             after_names: Sequence[str]) -> tuple[Select[Any], Select[Any]]:
    """``stmt`` ordered by ``keys`` and cut at ``page_limit`` rows: the first page's statement,
    and the statement of the pages after the key values bound as ``after_names``."""
    order = [k.desc() for k in keys] if descending else [k.asc() for k in keys]
    limit = bindparam("page_limit", type_=Integer)
    first = stmt.order_by(*order).limit(limit)
    key_tuple = tuple_(*keys)
    after = tuple_(*(bindparam(name, type_=k.type)
                     for name, k in zip(after_names, keys, strict=True)))
    rest = (stmt.where(key_tuple < after if descending else key_tuple > after)
            .order_by(*order).limit(limit))
    return first, rest


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
        self._first, self._next = _ordered(stmt, self.keys, descending, self._after_names)
        self._types = [_python_type(k) for k in self.keys]

    def _bind(self, params: PageParams, values: Mapping[str, Any]
              ) -> tuple[bool, dict[str, Any]]:
        """Whether a cursor was given, and the values with the page's own bound."""
        bound = {**values, "page_limit": params.limit + 1}
        if params.cursor is None:
            return False, bound
        after = _decode_after(params.cursor, self._types)
        bound.update(zip(self._after_names, after, strict=True))
        return True, bound

    async def page(self, session: AsyncSession, params: PageParams,
                   values: Mapping[str, Any]) -> tuple[list[Any], str | None]:
        """One page for ``values`` (the statement's parameters): its rows and the next cursor.

        Raises:
            InvalidRequest: the cursor is not one this list gave out.
        """
        after, bound = self._bind(params, values)
        stmt = self._next if after else self._first
        return _page(await session.execute(stmt, bound), params.limit, self._names)


class KeysetJsonQuery:
    """A keyset-paged query whose pages PostgreSQL writes as the JSON of a :class:`Page`.

    ``stmt`` gives the rows (its FROM and WHERE, with bind parameters as for
    :class:`KeysetQuery`; what it selects does not matter), ``item`` the SQL of one item's JSON
    text from their columns (see :func:`json_object` and its kin). The page's rows are
    selected, written and joined in the database and reach the service as one text value: no
    row is decoded, validated or serialised in Python. The JSON must be what the page's
    pydantic model writes (same members, order and formats), which the service's tests check
    against it; cursors are :class:`KeysetQuery`'s.
    """

    def __init__(self, stmt: Select[Any], keys: Sequence[ColumnElement[Any]],
                 item: ColumnElement[str], *, descending: bool = False) -> None:
        labelled = stmt.with_only_columns(
            item.label("page_item"), *(k.label(f"page_key_{i}") for i, k in enumerate(keys)))
        self._rows = KeysetQuery(labelled, keys, descending=descending)
        self._first = DriverQuery(_json_page(self._rows._first, len(keys), descending))
        self._next = DriverQuery(_json_page(self._rows._next, len(keys), descending))

    async def page_json(self, session: AsyncSession, params: PageParams,
                        values: Mapping[str, Any]) -> bytes:
        """The JSON of one page for ``values``: ``{"items": [...], "next_cursor": ...}``.

        ``session`` is one of :meth:`~lfi_shared.db.Database.reading` (asyncpg runs the
        statement itself: :class:`~lfi_shared.db.DriverQuery`).

        Raises:
            InvalidRequest: the cursor is not one this list gave out.
        """
        after, bound = self._rows._bind(params, values)
        bound["page_size"] = params.limit
        query = self._next if after else self._first
        count, items, *last = await query.fetchrow(session, bound)
        cursor = f'"{encode_cursor(last)}"' if count > params.limit else "null"
        return f'{{"items":[{items or ""}],"next_cursor":{cursor}}}'.encode()


def _json_page(page: Select[Any], width: int, descending: bool) -> Select[Any]:
    """One row for a page of ``limit + 1`` rows: how many there are, the JSON of the first
    ``page_size`` joined by commas, and the key values of the ``page_size``-th."""
    rows = page.subquery("page")
    keys = [rows.c[f"page_key_{i}"] for i in range(width)]
    order = [k.desc() for k in keys] if descending else [k.asc() for k in keys]
    size = bindparam("page_size", type_=Integer)

    def in_order(column: ColumnElement[Any]) -> Any:
        return func.array_agg(aggregate_order_by(column, *order))

    first = literal_column("1", Integer)
    return select(func.count(),
                  func.array_to_string(in_order(rows.c.page_item)[first:size], sql_text(","),
                                       type_=Text),
                  *(in_order(k)[size] for k in keys))


# JSON written by PostgreSQL as the API's models (pydantic) write it: compact, members in the
# model's order, UUIDs in their canonical form, datetimes in UTC with "Z" and microseconds only
# when there are some, dates as YYYY-MM-DD. Each yields the JSON text, ``null`` for NULL.

_JSON_NULL = literal_column("'null'", Text)


def sql_text(value: str) -> ColumnElement[str]:
    """A constant of the SQL text (written into the statement, not bound)."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)


def json_string(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A text column as a JSON string (escaped by PostgreSQL's own JSON writer)."""
    return func.coalesce(cast(func.to_json(column), Text), _JSON_NULL)


def json_uuid(column: ColumnElement[Any]) -> ColumnElement[str]:
    return func.coalesce(sql_text('"').op("||")(cast(column, Text)).op("||")(sql_text('"')),
                         _JSON_NULL)


def json_number(column: ColumnElement[Any]) -> ColumnElement[str]:
    return func.coalesce(cast(column, Text), _JSON_NULL)


def json_date(column: ColumnElement[Any]) -> ColumnElement[str]:
    return json_string(func.to_char(column, sql_text("YYYY-MM-DD")))


def json_datetime(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A ``timestamptz`` column as pydantic writes an aware UTC datetime."""
    written = func.to_char(func.timezone(sql_text("UTC"), column),
                           sql_text('YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    return json_string(func.replace(written, sql_text(".000000Z"), sql_text("Z")))


def json_bool(condition: ColumnElement[bool]) -> ColumnElement[str]:
    """``true`` where ``condition`` holds, else ``false`` (also when it is NULL)."""
    return case((condition, literal_column("'true'", Text)),
                else_=literal_column("'false'", Text))


def json_text_array(column: ColumnElement[Any]) -> ColumnElement[str]:
    return func.coalesce(cast(func.array_to_json(column), Text), _JSON_NULL)


def json_object(members: Sequence[tuple[str, ColumnElement[str]]]) -> ColumnElement[str]:
    """The JSON object of ``members`` (name, JSON text), in that order."""
    parts: list[ColumnElement[str]] = []
    for i, (name, value) in enumerate(members):
        parts += [sql_text(("{" if i == 0 else ",") + json.dumps(name) + ":"), value]
    parts.append(sql_text("}"))
    return func.concat(*parts, type_=Text)


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
