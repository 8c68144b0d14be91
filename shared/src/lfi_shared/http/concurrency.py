"""Optimistic concurrency: ``ETag`` on reads, ``If-Match`` required on updates and transitions.

A resource carries an integer ``version`` that every change increments. Its ETag is
``"<version>"``. An update without ``If-Match`` gets 428, with a stale one 412, and changes
nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Response

from lfi_shared.http.problems import PreconditionFailed, PreconditionRequired


def etag_for(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag_for(version)


async def if_match_header(
    if_match: Annotated[str | None, Header(
        alias="If-Match",
        description="The ETag of the version you read. Required; 412 if it has changed since.",
    )] = None,
) -> str:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "Send If-Match with the ETag you read, so that a change made since is not lost."
        )
    return if_match.strip()


# (async although it never waits: FastAPI would run a plain function in a worker thread.)
IfMatch = Annotated[str, Depends(if_match_header)]


def check_if_match(if_match: str, current_version: int) -> None:
    """Raise :class:`PreconditionFailed` unless ``if_match`` names ``current_version``.

    ``*`` is not accepted: a client must say which version it is changing.
    """
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if etag_for(current_version) not in candidates:
        raise PreconditionFailed(
            "The resource has changed since you read it; read it again and retry.",
            extra={"current_etag": etag_for(current_version)},
        )
