"""Schema-driven fuzzing of every operation of the gateway's merged OpenAPI document.

The document is the one the running gateway serves (``GET /openapi.json``), so an operation a
service adds is fuzzed without anyone touching this file; each operation belongs to one of
the groups below by its operation id's prefix, and an operation of no group fails the run.

For every operation, Schemathesis generates ``LFI_FUZZ_EXAMPLES`` requests that fit the
schema (positive) and as many that do not (negative), sends them through the gateway with a
valid token of a role allowed to call the operation (:data:`ROLE_FOR`, else ``la_admin``), and
checks each answer:

* never a server error (5xx);
* a status code, content type, headers and body the document declares for the operation;
* every error is an RFC 9457 ``application/problem+json`` whose ``status`` is the HTTP status,
  and a 422 lists the fields at fault;
* a request the schema forbids is refused (a 4xx), never accepted (``LFI_FUZZ_STRICT=0``
  turns this check off).

An operation that refuses the fuzzing role on every request (403) fails too: its fuzzing
would prove nothing. The server-sent events stream is fuzzed the same way, reading only its
status and headers (its body never ends).

``make fuzz`` runs the same with more examples (``LFI_FUZZ_EXAMPLES=200``) and a fresh seed
(``LFI_FUZZ_SEED``); by default the seed is fixed, so ``make test`` is repeatable.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lfi_shared.auth.principal import Role

EXAMPLES = int(os.environ.get("LFI_FUZZ_EXAMPLES") or 5)
SEED = int(os.environ.get("LFI_FUZZ_SEED") or 20251)
SHRINK = os.environ.get("LFI_FUZZ_SHRINK", "") == "1"
# Also require every schema-violating request to be refused (Schemathesis's
# negative_data_rejection): a number for a date, an undeclared query parameter, a value past
# its bounds. On by default; ``LFI_FUZZ_STRICT=0`` turns it off.
STRICT = os.environ.get("LFI_FUZZ_STRICT", "1") != "0"
REQUEST_TIMEOUT_S = 30.0

GROUPS = ("gateway", "referrals", "placements", "funding", "events")
"""Operation ids start with their service's name (the gateway's merge prefixes them)."""

ROLE_FOR: dict[str, Role] = {
    # Only the panel decides (la_admin may not).
    "funding_decide_application": Role.panel_member,
}
STREAMING = {"events_stream_events"}

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@schemathesis.check
def problem_details(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every error is RFC 9457 problem+json naming its own status; a 422 lists its fields."""
    content_type = (response.headers.get("content-type") or [""])[0]
    _check_problem(response.status_code, content_type, response.content)


def _check_problem(status: int, content_type: str, content: bytes) -> None:
    if status < 400:
        return
    assert content_type.split(";")[0].strip() == "application/problem+json", (
        f"a {status} answered {content_type!r}, not application/problem+json")
    body = json.loads(content)
    assert isinstance(body, dict), f"a {status} problem is not a JSON object"
    assert body.get("status") == status, f"problem status {body.get('status')} on a {status}"
    assert isinstance(body.get("title"), str) and body["title"], "a problem without a title"
    if status == 422:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, "a 422 problem lists no field errors"
        assert all(isinstance(e, dict) and e.get("field") for e in errors), (
            f"a 422 field error names no field: {errors}")


@pytest.fixture(scope="module")
def live_schema(platform):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_url(f"{platform.gateway_url}/openapi.json",
                                           timeout=REQUEST_TIMEOUT_S)
    return schema


@pytest.fixture(scope="module")
def tokens(token_factory) -> Callable[[Role], str]:  # type: ignore[no-untyped-def]
    cache: dict[Role, str] = {}

    def token(role: Role) -> str:
        if role not in cache:
            cache[role] = token_factory(role, subject=f"fuzz-{role.value}", lifetime_s=3 * 3600)
        return cache[role]

    return token


def _operations(schema: Any) -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())
    return found


def _group(operation_id: str) -> str:
    return operation_id.split("_", 1)[0]


def test_fuzz_every_operation_belongs_to_a_group(live_schema) -> None:  # type: ignore[no-untyped-def]
    operations = _operations(live_schema)
    assert len(operations) > 50
    strays = [op.label for op in operations
              if not op.definition.raw.get("operationId")
              or _group(op.definition.raw["operationId"]) not in GROUPS]
    assert strays == [], f"operations no fuzzing group covers: {strays}"


def _settings() -> hypothesis.settings:
    phases = [Phase.explicit, Phase.generate, *([Phase.shrink] if SHRINK else [])]
    return hypothesis.settings(
        max_examples=EXAMPLES, deadline=None, database=None, phases=phases,
        suppress_health_check=list(HealthCheck), derandomize=False, print_blob=True,
    )


def _fuzz_operation(operation: Any, base_url: str, token: str, session: requests.Session,
                    statuses: list[int]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    operation_id = operation.definition.raw["operationId"]
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        checks = [*CHECKS, problem_details,
                  *([negative_data_rejection]
                    if STRICT and mode is GenerationMode.NEGATIVE else [])]

        def send(case: Any, checks: list[Any] = checks) -> int:
            if operation_id in STREAMING:
                return _stream_once(case, base_url, headers)
            response = case.call(base_url=base_url, session=session, headers=headers,
                                 timeout=REQUEST_TIMEOUT_S)
            case.validate_response(response, checks=_checks_for(case, response, checks),
                                   headers=headers)
            return int(response.status_code)

        run = _property(operation.as_strategy(generation_mode=mode), send, statuses)
        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            # Nothing to negate: the operation takes no parameters and no body.


def _checks_for(case: Any, response: Any, checks: list[Any]) -> list[Any]:
    """``checks``, less the rejection check where what went on the wire is not what was negated.

    The HTTP client leaves out a query parameter whose generated value is None or an empty
    list, so a case whose only violation was that parameter arrives as a valid request.
    """
    generated = set((case.query or {}).keys())
    sent = set(parse_qs(urlsplit(response.request.url).query, keep_blank_values=True))
    if generated - sent:
        return [check for check in checks if check is not negative_data_rejection]
    return checks


def _property(strategy: Any, send: Callable[[Any], int], statuses: list[int]) -> Callable[[], None]:
    """The Hypothesis test sending each generated case (seeded, bounded, never shrunk unless
    ``LFI_FUZZ_SHRINK=1``)."""

    @hypothesis.seed(SEED)
    @_settings()
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        statuses.append(send(case))

    return run


def _stream_once(case: Any, base_url: str, headers: dict[str, str]) -> int:
    """One request to a server-sent events stream: status and headers only, then hang up."""
    kwargs = case.as_transport_kwargs(base_url=base_url, headers=headers)
    with httpx.Client(timeout=REQUEST_TIMEOUT_S, trust_env=False) as http, http.stream(
            kwargs["method"], kwargs["url"], params=kwargs.get("params"),
            headers=kwargs.get("headers")) as response:
        content_type = response.headers.get("content-type", "")
        assert response.status_code < 500, f"server error {response.status_code}"
        if response.status_code == 200:
            assert content_type.startswith("text/event-stream"), content_type
        else:
            assert str(response.status_code) in case.operation.definition.raw["responses"], (
                f"undocumented status {response.status_code}")
            _check_problem(response.status_code, content_type, response.read())
        return response.status_code


@pytest.mark.parametrize("group", GROUPS)
def test_fuzz_operations(group: str, live_schema, tokens, platform) -> None:  # type: ignore[no-untyped-def]
    base_url = platform.gateway_url
    failures: list[str] = []
    summary: list[str] = []
    with requests.Session() as session:
        session.trust_env = False
        for operation in _operations(live_schema):
            operation_id = operation.definition.raw["operationId"]
            if _group(operation_id) != group:
                continue
            role = ROLE_FOR.get(operation_id, Role.la_admin)
            statuses: list[int] = []
            began = time.monotonic()
            try:
                _fuzz_operation(operation, base_url, tokens(role), session, statuses)
            # One operation's failure must not hide the others'.
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({operation_id}, as {role.value}):\n"
                                f"{type(exc).__name__}: {exc}")
                continue
            if statuses and all(s == 403 for s in statuses):
                failures.append(f"{operation.label} ({operation_id}): every request as "
                                f"{role.value} was refused (403): fix ROLE_FOR")
            counts = {s: statuses.count(s) for s in sorted(set(statuses))}
            summary.append(f"{operation_id}: {counts} in {time.monotonic() - began:.1f}s")
    print("\n".join(summary))
    assert not failures, (f"{len(failures)} operation(s) failed (LFI_FUZZ_SEED={SEED}, "
                          f"LFI_FUZZ_EXAMPLES={EXAMPLES}):\n\n" + "\n\n".join(failures))
