"""The reverse proxy against real upstream servers: headers, streaming, faults."""

from __future__ import annotations

import gzip
import time

import httpx
from gateway_harness import dead_url, gateway_settings, running_gateway, stand_in

from lfi_shared.auth import LocalKeyPair, Role
from lfi_shared.testing.auth import TokenFactory, bearer

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, trust_env=False, timeout=10)


def test_request_passes_on_with_ids_and_forwarding_headers_and_without_hop_by_hop_ones(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    with stand_in("placements") as (placements, placements_url), running_gateway(
            gateway_settings(local_keys.jwks_path, placements_url=placements_url)) as url, \
            client(url) as http:
        response = http.put(
            "/v1/placements/a%2Fb/offer?zone=north%20norwich&zone=west",
            content=b'{"state": "offered"}',
            headers={
                **bearer(token_factory(Role.placements_officer)),
                "Content-Type": "application/json",
                "If-Match": '"v1"',
                "X-Request-ID": "req-gateway-test-1",
                "traceparent": TRACEPARENT,
                "X-Forwarded-For": "203.0.113.7",
                "Connection": "keep-alive, X-Private-Hop",
                "X-Private-Hop": "secret",
                "Keep-Alive": "timeout=5",
            },
        )
    assert response.status_code == 200
    seen = placements.proxied[0]
    assert (seen.method, seen.raw_path) == ("PUT", "/v1/placements/a%2Fb/offer")
    assert seen.query == "zone=north%20norwich&zone=west"
    assert seen.body == b'{"state": "offered"}'
    assert seen.headers["content-length"] == str(len(seen.body))
    assert seen.headers["if-match"] == '"v1"'
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["x-request-id"] == "req-gateway-test-1"
    version, trace_id, parent_id, _ = seen.headers["traceparent"].split("-")
    assert (version, trace_id) == ("00", TRACE_ID)
    assert parent_id != "00f067aa0ba902b7"  # the next hop's parent is the gateway's span
    assert seen.headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert seen.headers["x-forwarded-proto"] == "http"
    assert "x-private-hop" not in seen.headers
    assert "keep-alive" not in seen.headers
    # ...and on the way back: the ids once each, the upstream's own headers kept
    assert response.headers.get_list("x-request-id") == ["req-gateway-test-1"]
    assert len(response.headers.get_list("traceparent")) == 1
    assert response.headers["traceparent"].split("-")[1] == TRACE_ID
    assert response.headers["etag"] == '"v1"'
    assert response.headers["x-upstream"] == "placements"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


def test_a_request_id_is_made_when_the_client_sends_none(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    with stand_in("funding") as (funding, funding_url), running_gateway(
            gateway_settings(local_keys.jwks_path, funding_url=funding_url)) as url, \
            client(url) as http:
        response = http.get("/v1/funding/budgets", headers=bearer(token_factory(Role.la_admin)))
    assert response.status_code == 200
    assert response.headers["x-request-id"] == funding.proxied[0].headers["x-request-id"]


def test_each_prefix_reaches_its_service(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    with stand_in("referrals") as (_, r_url), stand_in("placements") as (_, p_url), \
            stand_in("funding") as (_, f_url), stand_in("events") as (_, e_url), \
            running_gateway(gateway_settings(
                local_keys.jwks_path, referrals_url=r_url, placements_url=p_url,
                funding_url=f_url, events_url=e_url)) as url, client(url) as http:
        token = bearer(token_factory(Role.la_admin))
        expected = {
            "/v1/referrals": "referrals", "/v1/schools/121234": "referrals",
            "/v1/zones": "referrals", "/v1/contacts": "referrals",
            "/v1/access-log": "referrals", "/v1/provisions": "placements",
            "/v1/placements": "placements", "/v1/capacity": "placements",
            "/v1/calendar/2025": "placements", "/v1/funding/years": "funding",
            "/v1/events": "events", "/v1/event-types": "events",
            "/v1/dead-letters": "events", "/v1/asyncapi.json": "events",
        }
        for path, service in expected.items():
            response = http.get(path, headers=token)
            assert response.json()["service"] == service, path


def test_a_stopped_upstream_gives_a_503_problem_at_once(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    with running_gateway(gateway_settings(local_keys.jwks_path, referrals_url=dead_url(),
                                          upstream_timeout_s=5.0)) as url, client(url) as http:
        started = time.monotonic()
        response = http.get("/v1/referrals", headers=bearer(token_factory(Role.la_admin)))
        elapsed = time.monotonic() - started
        metrics = http.get("/metrics").text
    assert 'lfi_gateway_upstream_responses_total{service="referrals",status="503"} 1.0' in metrics
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "referrals" in response.json()["detail"]
    assert elapsed < 2.0


def test_a_slow_upstream_gives_a_504_problem_after_the_route_timeout(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    with stand_in("referrals") as (_, referrals_url), running_gateway(
            gateway_settings(local_keys.jwks_path, referrals_url=referrals_url,
                             upstream_timeout_s=0.5)) as url, client(url) as http:
        token = bearer(token_factory(Role.la_admin))
        started = time.monotonic()
        response = http.get("/v1/referrals/slow?delay=3", headers=token)
        elapsed = time.monotonic() - started
        assert http.get("/v1/referrals/slow?delay=0.1", headers=token).status_code == 200
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert 0.5 <= elapsed < 2.5


def test_server_sent_events_flow_through_without_a_read_timeout(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    # events 0.6 s apart, a default read timeout of 0.3 s: only a stream route survives it
    with stand_in("events", events=3, interval_s=0.6) as (_, events_url), running_gateway(
            gateway_settings(local_keys.jwks_path, events_url=events_url,
                             upstream_timeout_s=0.3)) as url, client(url) as http:
        started = time.monotonic()
        arrivals: list[tuple[float, str]] = []
        with http.stream("GET", "/v1/events/stream",
                         headers={**bearer(token_factory(Role.la_admin)),
                                  "Accept": "text/event-stream"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("data: "):
                    arrivals.append((time.monotonic() - started, line))
    assert [line for _, line in arrivals] == ["data: 1", "data: 2", "data: 3"]
    # the first event came as soon as it was sent, not with the end of the stream
    assert arrivals[0][0] < 0.9 <= arrivals[2][0]


def test_answers_come_back_as_the_upstream_sent_them_whole_streamed_compressed_or_empty(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    with stand_in("referrals") as (_, referrals_url), running_gateway(
            gateway_settings(local_keys.jwks_path, referrals_url=referrals_url)) as url, \
            client(url) as http:
        token = bearer(token_factory(Role.la_admin))
        # no length given (chunked): passed on as it comes, small or large
        small = http.get("/v1/referrals/chunked?parts=3&size=10", headers=token)
        assert small.status_code == 200
        assert small.content == b"0" * 10 + b"1" * 10 + b"2" * 10
        assert small.headers["x-upstream"] == "referrals"
        large = http.get("/v1/referrals/chunked?parts=40&size=32768", headers=token)
        assert large.content == b"".join(str(n % 10).encode() * 32768 for n in range(40))
        # a compressed body is not decompressed on the way
        with http.stream("GET", "/v1/referrals/gzipped", headers=token) as zipped:
            raw = b"".join(zipped.iter_raw())
        assert zipped.headers["content-encoding"] == "gzip"
        assert gzip.decompress(raw) == b'{"compressed": true}'
        # no body at all
        empty = http.delete("/v1/referrals/r-1/nothing", headers=token)
        assert (empty.status_code, empty.content) == (204, b"")
        assert empty.headers["x-upstream"] == "referrals"
        head = http.head("/v1/referrals", headers=token)
        direct = httpx.head(f"{referrals_url}/v1/referrals", trust_env=False)
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-length"] == direct.headers["content-length"]
        assert head.headers["etag"] == '"v1"'


def test_the_upstream_gets_the_clients_headers_and_no_cookie_or_header_of_the_gateways(
        local_keys: LocalKeyPair, token_factory: TokenFactory) -> None:
    # a host name, not an address: cookie jars keep no cookies of bare addresses
    with stand_in("referrals") as (referrals, referrals_url), running_gateway(
            gateway_settings(local_keys.jwks_path,
                             referrals_url=referrals_url.replace("127.0.0.1", "localhost"))
    ) as url, client(url) as http:
        token = bearer(token_factory(Role.la_admin))
        own = {"User-Agent": "lfi-test/1", "Accept-Encoding": "identity", "Accept": "text/csv"}
        first = http.get("/v1/referrals", headers={**token, **own})
        assert first.headers.get_list("set-cookie") == ["a=1", "b=2"]
        http.cookies.clear()  # the test client keeps cookies; the gateway must not
        http.post("/v1/referrals", headers=token, content=b"plain bytes")
    first_seen, second_seen = referrals.proxied
    for name, value in own.items():
        assert [v for k, v in first_seen.raw_headers if k == name.lower()] == [value]
    assert "cookie" not in second_seen.headers
    assert "content-type" not in second_seen.headers  # none was sent, none was made up
    assert second_seen.body == b"plain bytes"
    assert second_seen.headers["content-length"] == "11"
