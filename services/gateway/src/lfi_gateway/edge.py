"""The ``/v1`` front door: token, rate limit, route, body size, then the proxy.

In that order: a request without a valid token is refused (401) before anything else is
done for it, though it still counts against its address's rate limit, so that nobody can
hammer the token check for free; a known caller is counted under its token's subject.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from lfi_gateway.authentication import authenticate
from lfi_gateway.proxy import ReverseProxy, body_too_large, declared_length
from lfi_gateway.rate_limit import ClientRateLimiter, client_key
from lfi_gateway.routing import resolve
from lfi_shared.http.problems import problem_response

PROXIED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def edge_router(proxy: ReverseProxy, limiter: ClientRateLimiter) -> APIRouter:
    """The catch-all ``/v1/...`` route (left out of the gateway's own OpenAPI document)."""
    router = APIRouter()

    @router.api_route("/v1/{path:path}", methods=PROXIED_METHODS, include_in_schema=False)
    async def pass_on(request: Request) -> Response:
        caller = await authenticate(request)
        subject = None if isinstance(caller, Response) else caller.subject
        address = request.client.host if request.client else None
        retry_after = await limiter.hit(client_key(subject, address))
        if retry_after is not None:
            return problem_response(
                429, instance=request.url.path, headers={"Retry-After": str(retry_after)},
                detail=f"more than {limiter.description} from this client; "
                       f"try again in {retry_after} s",
            )
        if isinstance(caller, Response):
            return caller
        route = resolve(request.url.path)
        if route is None:
            return problem_response(404, instance=request.url.path,
                                    detail="no service answers this path")
        length = declared_length(request)
        if length == -1:
            return problem_response(400, instance=request.url.path,
                                    detail="Content-Length is not a number")
        if length is not None and length > proxy.body_limit(route):
            return body_too_large(proxy.body_limit(route), request.url.path)
        return await proxy.forward(request, route)

    return router
