"""Cursor pagination: ``limit`` and an opaque ``cursor`` in, ``items`` and ``next_cursor`` out.

Pages are keyset pages over a unique, ordered key (for example ``(created_at, id)``), so they
stay stable while rows are added and cost the same on page 1 and page 10,000.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
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


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512,
                                        description="`next_cursor` of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


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
        after = decode_cursor(params.cursor, len(keys))
        key_tuple = tuple_(*keys)
        stmt = stmt.where(key_tuple < tuple_(*after) if descending else key_tuple > tuple_(*after))
    order = [k.desc() for k in keys] if descending else [k.asc() for k in keys]
    stmt = stmt.order_by(*order).limit(params.limit + 1)
    result = await session.execute(stmt)
    rows = list(result.scalars().all()) if len(result.keys()) == 1 else list(result.all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = encode_cursor([_key_value(last, k) for k in keys])
    return rows, next_cursor


def _key_value(row: Any, key: ColumnElement[Any]) -> Any:
    name = getattr(key, "key", None) or getattr(key, "name", None)
    if name is None:
        raise ValueError("pagination keys must be named columns")
    return getattr(row, name)
