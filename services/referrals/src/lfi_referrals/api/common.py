"""What the referral endpoints share: settings, the purpose of an access, the request's ids.

The dependencies are ``async def`` although they never wait: FastAPI runs a plain ``def``
dependency in a worker thread, a hand-off that costs far more than the function itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from lfi_referrals.settings import Settings


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
