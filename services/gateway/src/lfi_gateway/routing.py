"""The public URL space: which service owns which paths (the routing table, as data).

A request path belongs to the route with the longest prefix it starts with (a plain string
prefix, so ``/v1/asyncapi`` covers ``/v1/asyncapi.json``). Each service serves the same paths
when called directly, so the gateway passes paths on unchanged.

To give a service new paths, add a line here; the gateway's tests check that every ``/v1``
path in each service's OpenAPI document is routed to that service.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICES: tuple[str, ...] = ("referrals", "placements", "funding", "events")
"""The upstream services, in the order their paths appear in the merged OpenAPI document."""


@dataclass(frozen=True, slots=True)
class Route:
    """One prefix of the URL space and how requests under it are passed on.

    ``read_timeout_s`` overrides the gateway's default read timeout for the route;
    ``stream`` marks a long-lived response (server-sent events) read without any timeout.
    ``max_body_bytes`` overrides the gateway's request body limit (an import, say).
    """

    prefix: str
    service: str
    read_timeout_s: float | None = None
    stream: bool = False
    max_body_bytes: int | None = None

    def matches(self, path: str) -> bool:
        return path.startswith(self.prefix)


ROUTES: tuple[Route, ...] = (
    # referrals: the only service holding a child's identity
    Route("/v1/referrals", "referrals"),
    Route("/v1/schools", "referrals"),
    Route("/v1/zones", "referrals"),
    Route("/v1/contacts", "referrals"),
    Route("/v1/access-log", "referrals"),
    # placements
    Route("/v1/provisions", "placements"),
    Route("/v1/placements", "placements"),
    Route("/v1/capacity", "placements"),
    Route("/v1/calendar", "placements"),
    # funding
    Route("/v1/funding/", "funding"),
    # events: the live stream is server-sent events, open for as long as the client listens
    Route("/v1/events/stream", "events", stream=True),
    Route("/v1/events", "events"),
    Route("/v1/event-types", "events"),
    Route("/v1/dead-letters", "events"),
    Route("/v1/asyncapi", "events"),
)

_BY_LENGTH = tuple(sorted(ROUTES, key=lambda route: len(route.prefix), reverse=True))


def resolve(path: str, routes: tuple[Route, ...] = _BY_LENGTH) -> Route | None:
    """The route owning ``path`` (a request path or an OpenAPI path template), or ``None``."""
    for route in routes:
        if route.matches(path):
            return route
    return None


def service_of(path: str) -> str | None:
    """The service owning ``path``, or ``None`` when no route covers it."""
    route = resolve(path)
    return route.service if route else None


def _check_table() -> None:
    unknown = {route.service for route in ROUTES} - set(SERVICES)
    if unknown:
        raise RuntimeError(f"routing table names unknown services: {sorted(unknown)}")
    prefixes = [route.prefix for route in ROUTES]
    if len(prefixes) != len(set(prefixes)):
        raise RuntimeError("routing table repeats a prefix")


_check_table()
