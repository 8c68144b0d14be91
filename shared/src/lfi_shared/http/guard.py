"""Refuse, before an endpoint runs, input no endpoint can use.

Added to every router a service passes to :func:`lfi_shared.app.create_service_app`, it answers
422 (the usual validation problem, each field named, no value echoed) for:

* a query parameter the operation does not declare (``?zone=north`` for ``zone_id``): ignoring
  it would answer an unfiltered list to a client that believes it filtered one;
* a single-valued query parameter given more than once (``?status=open&status=closed`` where
  only one status is taken): answering for the last one would silently drop the others;
* text PostgreSQL cannot store, in a query or path parameter or anywhere in a JSON body: the
  NUL character, and lone UTF-16 surrogates (``"\\ud800"``) that have no UTF-8 form.

Without it, the second would reach the database and fail there as a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

_SEQUENCES = (list, set, frozenset, tuple, Sequence, AbstractSet)


@dataclass(frozen=True)
class _QueryShape:
    """An operation's query parameters: every name, and those that take several values."""

    names: frozenset[str]
    repeatable: frozenset[str]


_SHAPES: dict[int, _QueryShape] = {}


def _repeatable(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _repeatable(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return any(_repeatable(arg) for arg in get_args(annotation))
    return origin in _SEQUENCES or annotation in _SEQUENCES


def _shape(dependant: Dependant) -> _QueryShape:
    names: set[str] = set()
    repeatable: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            annotation = field.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                for name, model_field in annotation.model_fields.items():
                    names.add(model_field.alias or name)
                    if _repeatable(model_field.annotation):
                        repeatable.add(model_field.alias or name)
            else:
                names.add(field.alias)
                if _repeatable(annotation):
                    repeatable.add(field.alias)
        pending.extend(current.dependencies)
    return _QueryShape(frozenset(names), frozenset(repeatable))


def _query_shape(request: Request) -> _QueryShape | None:
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    shape = _SHAPES.get(id(route))
    if shape is None:
        shape = _SHAPES[id(route)] = _shape(dependant)
    return shape


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unstorable_paths(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if _unstorable(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if _unstorable(key):
                yield (*path, "<key>")
            else:
                yield from _unstorable_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_paths(item, (*path, index))


_TEXT_ERROR = "Text cannot contain the NUL character or unpaired surrogates"


async def refuse_unusable_input(request: Request) -> None:
    """The router dependency: 422 for undeclared query parameters and unstorable text."""
    errors: list[dict[str, Any]] = []
    shape = _query_shape(request)
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if shape is not None and name not in shape.names:
            errors.append({"loc": ("query", name[:64] or "<empty>"), "type": "unknown_parameter",
                           "msg": "This operation has no such query parameter"})
        elif shape is not None and name in seen and name not in shape.repeatable:
            errors.append({"loc": ("query", name), "type": "repeated_parameter",
                           "msg": "This query parameter takes one value; it was given more than once"})
        elif _unstorable(value):
            errors.append({"loc": ("query", name), "type": "string_unstorable", "msg": _TEXT_ERROR})
        seen.add(name)
    for name, value in request.path_params.items():
        if isinstance(value, str) and _unstorable(value):
            errors.append({"loc": ("path", name), "type": "string_unstorable", "msg": _TEXT_ERROR})
    if "json" in request.headers.get("content-type", ""):
        body = await request.body()
        # Raw NUL bytes and broken UTF-8 already fail JSON decoding; only an escape can carry
        # them into a parsed string.
        if b"\\u" in body:
            try:
                document = json.loads(body)
            except ValueError:
                document = None  # the body's own validation names the error
            for path in _unstorable_paths(document, ("body",)):
                errors.append({"loc": path, "type": "string_unstorable", "msg": _TEXT_ERROR})
    if errors:
        raise RequestValidationError(errors)


__all__ = ["refuse_unusable_input"]
