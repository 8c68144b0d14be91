"""The problem responses the endpoints document, besides the shared ones (RFC 9457 bodies)."""

from __future__ import annotations

from typing import Any

from lfi_shared.http.problems import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES, Problem


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    404: _problem("Not found (or not the caller's to see)."),
    409: _problem("Conflicts with the current state."),
    412: _problem("If-Match does not match the current version."),
    428: _problem("If-Match is required."),
}
