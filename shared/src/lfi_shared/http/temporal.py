"""Dates and times as the API documents them, and nothing else.

Pydantic's lax mode reads a number as a Unix time: ``?on=0`` becomes 1 January 1970 and
``"received_at": 1700000000`` a time in 2023, although the OpenAPI document says an ISO 8601
date (``format: date``) or an RFC 3339 date-time (``format: date-time``). Every request field
and query parameter of the services uses these types instead, so such input is a 422 naming
the field:

* :data:`IsoDate`: ``YYYY-MM-DD`` only (``2026-09-07``), or a :class:`datetime.date` from code;
* :data:`IsoDateTime`: RFC 3339 with a time zone (``2026-09-07T09:30:00Z``,
  ``2026-09-07T10:30:00+01:00``), or an aware :class:`datetime.datetime` from code. A time
  without an offset is refused: in the UK it is ambiguous for an hour every autumn.

Both are limited to the years 1900 to 2999: nothing the platform records lies outside them,
and the far ends of Python's range (year 1, year 9999) break date arithmetic and the database
driver's conversions.

The JSON schema is Pydantic's own for ``date`` and ``datetime`` (a string of that format).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})")


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "Input should be a date in the form YYYY-MM-DD")


def _iso_date_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        return value
    raise PydanticCustomError(
        "datetime_format",
        "Input should be a date and time in RFC 3339 form with a time zone, "
        "e.g. 2026-09-07T09:30:00Z")


FIRST_YEAR = 1900
LAST_YEAR = 2999


def _in_range(value: Any) -> Any:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError(
            "date_range", "Input should be a date between the years {first} and {last}",
            {"first": FIRST_YEAR, "last": LAST_YEAR})
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_in_range)]
"""A calendar date written ``YYYY-MM-DD``; numbers and other spellings are refused."""

IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_date_time), AfterValidator(_in_range)]
"""An instant written in RFC 3339 with its offset; numbers and naive times are refused."""

__all__ = ["IsoDate", "IsoDateTime"]
