"""Identifiers the funding service receives from schools and other services."""

from __future__ import annotations

import re

from lfi_shared.http.problems import FieldError

__all__ = ["urn_error"]

_URN = re.compile(r"[0-9]{6}")


def urn_error(value: object, field: str) -> FieldError | None:
    """The fault in a school URN (six ASCII digits), or ``None`` when it is valid."""
    if isinstance(value, str) and _URN.fullmatch(value):
        return None
    return FieldError(field=field, message="must be a school URN of six digits", code="urn_format")
