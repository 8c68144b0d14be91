"""The authorization matrix: every operation of the gateway's merged OpenAPI document by every
role by own versus someone else's object → the status the expectation table
(:mod:`authz_expectations`) says, through the gateway with every service running.

* The operations come from the running gateway's document; a test fails when the document
  holds an operation the table does not name (so a new endpoint cannot escape the matrix) or
  the table names one the document does not hold.
* Objects are made for two schools of the seeded sample register in different zones: school A
  (own: the ``school_staff`` token names its URN, the ``tas_practitioner`` token its zone) and
  school B (other). Roles that see every school get the same answer for both.
* Nothing is changed by accident: every call carrying an ``If-Match`` sends a stale version
  when the call should be let through (412 then proves the role got past the gate without
  changing anything), and the real version only when it must be refused. Creating calls the
  role check of which runs before body validation get an empty body (422 when let through);
  the others get a valid body from a factory, so the role and object checks are reached.

Then the token attacks, through the gateway and straight at every service: no signature
(``alg: none``), HS256 signed with the public key, wrong issuer, wrong audience, expired,
tampered payload; each is a 401 problem, while the same call with a good token succeeds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from authz_expectations import EXPECTATIONS, Rule
from cryptography.hazmat.primitives import serialization

from lfi_placements.seed import zone_id_for
from lfi_shared.auth.principal import Role

FY = "2026-27"
STALE = '"999999"'
WHOSE = ("own", "other")


@dataclass
class World:
    """The objects the matrix calls about, by kind and by whose ("own" is school A's)."""

    schools: dict[str, str] = field(default_factory=dict)  # whose → URN
    zone_ids: dict[str, str] = field(default_factory=dict)  # whose → referrals zone id
    zone_codes: dict[str, str] = field(default_factory=dict)
    ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, whose) → id
    versions: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, whose) → ETag
    tokens: dict[Role, str] = field(default_factory=dict)
    random_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    event_type: str = ""

    def header(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


# ---------------------------------------------------------------------------- factories

def cohort_details() -> dict[str, Any]:
    return {"subject_kind": "cohort",
            "cohort": {"description": "Year 9 pupils after the move from middle school",
                       "pupil_count": 12, "year_groups": ["9"], "primary_needs": ["SEMH"]},
            "concerns": "Rising suspensions in year 9.", "support_requested": ["outreach"]}


def referral_body(urn: str) -> dict[str, Any]:
    return {"school_urn": urn, **cohort_details()}


def placement_request_body(world: World, whose: str, *, planned_end: str | None) -> dict[str, Any]:
    return {"child_id": str(uuid.uuid4()), "home_school_urn": world.schools[whose],
            "zone_id": str(zone_id_for(world.zone_codes[whose])), "year_group": "8",
            "needs": ["SEMH"], "provision_type": "eib", "priority": "standard",
            "requested_start": date.today().isoformat(), "planned_end": planned_end}


def _plan() -> dict[str, Any]:
    return {"support_plan": {"level": "targeted", "focus": "cohort", "actions": ["Outreach"],
                             "ep_hours": "2.00",
                             "review_on": (date.today() + timedelta(days=180)).isoformat()}}


Body = Callable[[World, str], Any]
# Valid bodies where the service checks the role or the object after validating the body.
BODIES: dict[str, Body] = {
    "referrals_create_referral": lambda w, whose: referral_body(w.schools[whose]),
    "referrals_export_subject_access": lambda w, whose: {"child_id": w.random_id},
    "referrals_amend_referral": lambda w, whose: cohort_details(),
    "referrals_accept_referral": lambda w, whose: _plan(),
    "referrals_assign_practitioner": lambda w, whose: {"practitioner_id": w.random_id},
    "referrals_close_referral": lambda w, whose: {"outcome": "needs_met"},
    "referrals_decline_referral": lambda w, whose: {"reason": "referred_elsewhere"},
    "referrals_withdraw_referral": lambda w, whose: {"reason": "raised_in_error"},
    "referrals_add_case_note": lambda w, whose: {"body": "Spoke to the SENCo."},
    "referrals_request_placement": lambda w, whose: {"provision_type": "eib",
                                                     "priority": "standard"},
    "referrals_request_element3_review": lambda w, whose: {},
    "referrals_triage_referral": lambda w, whose: {},
    "referrals_convert_contact_to_referral": lambda w, whose: {"details": cohort_details()},
    "referrals_update_school": lambda w, whose: {"zone_id": w.zone_ids[whose]},
    "referrals_rename_zone": lambda w, whose: {"name": f"Zone {uuid.uuid4().hex[:8]}"},
    # A planned end far past the longest stay: let through, the request is refused (422)
    # after the practitioner's zone check, and no place is taken.
    "placements_request_placement": lambda w, whose: placement_request_body(
        w, whose, planned_end="2099-07-20"),
    "placements_accept_offer": lambda w, whose: {"given_by": "parent",
                                                 "agreed_on": date.today().isoformat()},
    "placements_start_placement": lambda w, whose: {"started_on": date.today().isoformat()},
    "placements_end_placement": lambda w, whose: {"ended_on": date.today().isoformat(),
                                                  "outcome": "other"},
    "placements_change_planned_end": lambda w, whose: {"planned_end": "2027-07-20"},
    "placements_update_provision_details": lambda w, whose: {"name": "Renamed"},
    "funding_open_application": lambda w, whose: {"school_urn": w.schools[whose],
                                                  "financial_year": FY, "scope": "cohort"},
    "funding_update_application_evidence": lambda w, whose: {"evidence": {"cohort_size": 3}},
    "funding_withdraw_application": lambda w, whose: {"reason": "No longer needed."},
    "funding_decide_application": lambda w, whose: {"outcome": "declined", "reason": "Not met."},
    "funding_add_to_agenda": lambda w, whose: {"application_id": w.ids[("application", "own")]},
}
CSV_OPERATIONS = {"referrals_import_school_register", "funding_import_formula_inputs"}
STREAMING = {"events_stream_events"}

# Path parameters by name → (kind of object, or a fixed value).
PATH_KINDS = {"referral_id": "referral", "contact_id": "contact", "request_id": "request",
              "placement_id": "placement", "application_id": "application",
              "panel_id": "panel", "provision_id": "provision"}


# ---------------------------------------------------------------------------- the world

async def _ok(response: httpx.Response, *expected: int) -> dict[str, Any]:
    assert response.status_code in (expected or (200,)), (
        f"{response.request.method} {response.request.url}: {response.status_code} "
        f"{response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


async def ensure_calendar(http: httpx.AsyncClient, officer: dict[str, str]) -> None:
    """Term dates up to two academic years past today (the seed holds 2025/26 only), so a
    placement request starting today can be placed whatever the date."""
    for year in range(2026, date.today().year + 2):
        body = {"academic_year": f"{year}/{(year + 1) % 100:02d}", "terms": [
            {"name": "autumn", "start": f"{year}-09-03", "end": f"{year}-12-18"},
            {"name": "spring", "start": f"{year + 1}-01-05", "end": f"{year + 1}-03-26"},
            {"name": "summer", "start": f"{year + 1}-04-13", "end": f"{year + 1}-07-16"}]}
        await _ok(await http.post("/v1/calendar/terms", json=body, headers=officer), 201, 409)


async def build_world(http: httpx.AsyncClient, token_factory: Any) -> World:
    world = World()
    admin = {"Authorization": f"Bearer {token_factory(Role.la_admin, subject='authz-admin')}"}
    officer = {"Authorization": "Bearer " + token_factory(Role.placements_officer,
                                                          subject="authz-officer")}
    funding = {"Authorization": "Bearer " + token_factory(Role.funding_officer,
                                                          subject="authz-funding")}
    zones = (await _ok(await http.get("/v1/zones", params={"limit": 100}, headers=admin)))["items"]
    code_of = {z["id"]: z["code"] for z in zones}
    schools = (await _ok(await http.get("/v1/schools", params={"limit": 100},
                                        headers=admin)))["items"]
    a = schools[0]
    b = next(s for s in schools if s["zone_id"] != a["zone_id"])
    for whose, school in (("own", a), ("other", b)):
        world.schools[whose] = school["urn"]
        world.zone_ids[whose] = school["zone_id"]
        world.zone_codes[whose] = code_of[school["zone_id"]]
    world.ids[("school", "own")], world.ids[("school", "other")] = a["urn"], b["urn"]
    world.ids[("zone", "own")], world.ids[("zone", "other")] = a["zone_id"], b["zone_id"]

    async def made(kind: str, whose: str, response: httpx.Response) -> dict[str, Any]:
        body = await _ok(response, 200, 201)
        world.ids[(kind, whose)] = body["id"]
        if "etag" in response.headers:
            world.versions[(kind, whose)] = response.headers["etag"]
        return body

    await ensure_calendar(http, officer)
    for whose in WHOSE:
        urn = world.schools[whose]
        await made("referral", whose, await http.post(
            "/v1/referrals", json=referral_body(urn), headers=admin))
        await made("contact", whose, await http.post(
            "/v1/contacts", json={"caller_type": "school_staff", "topic": "Advice on a pupil",
                                  "school_urn": urn}, headers=admin))
        request = await made("request", whose, await http.post(
            "/v1/placements/requests", headers=officer,
            json=placement_request_body(world, whose, planned_end=None)))
        placements = (await _ok(await http.get(
            "/v1/placements", params={"request_id": request["id"]}, headers=officer)))["items"]
        assert placements, f"the placement request of school {urn} was not offered a place"
        world.ids[("placement", whose)] = placements[0]["id"]
        world.versions[("placement", whose)] = f'"{placements[0]["version"]}"'
        await made("application", whose, await http.post(
            "/v1/funding/applications", headers=admin,
            json={"school_urn": urn, "financial_year": FY, "scope": "cohort"}))
    panel = await _ok(await http.post("/v1/funding/panels", headers=funding,
                                      json={"meeting_on": "2027-01-15", "financial_year": FY}),
                      201)
    provision = (await _ok(await http.get("/v1/provisions", headers=admin)))["items"][0]
    event_type = (await _ok(await http.get("/v1/event-types", headers=admin)))["items"][0]
    world.event_type = event_type["type"]
    for whose in WHOSE:
        world.ids[("panel", whose)] = panel["id"]
        world.ids[("provision", whose)] = provision["id"]
    for kind in ("school", "zone", "provision", "panel"):
        for whose in WHOSE:
            world.versions.setdefault((kind, whose), '"1"')
    for kind, path in (("school", "/v1/schools/{}"), ("zone", "/v1/zones/{}"),
                       ("provision", "/v1/provisions/{}")):
        for whose in WHOSE:
            got = await http.get(path.format(world.ids[(kind, whose)]), headers=admin)
            world.versions[(kind, whose)] = got.headers.get("etag", '"1"')

    tokens = {role: token_factory(role, subject=f"authz-{role.value}") for role in Role}
    tokens[Role.school_staff] = token_factory(Role.school_staff, subject="authz-school-a",
                                              school_urns=[world.schools["own"]])
    tokens[Role.tas_practitioner] = token_factory(Role.tas_practitioner,
                                                  subject="authz-practitioner-a",
                                                  zones=[world.zone_codes["own"]])
    world.tokens = tokens
    return world


@pytest.fixture(scope="module")
async def gateway(platform) -> Any:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30.0,
                                 trust_env=False) as http:
        yield http


@pytest.fixture(scope="module")
async def document(gateway: httpx.AsyncClient) -> dict[str, Any]:
    return await _ok(await gateway.get("/openapi.json"))


@pytest.fixture(scope="module")
async def world(gateway: httpx.AsyncClient, token_factory: Any) -> World:
    return await build_world(gateway, token_factory)


def operations_of(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (method.upper(), path, operation)
    return found


# ---------------------------------------------------------------------------- the matrix

async def test_authz_table_names_every_operation_of_the_document(document: dict[str, Any]) -> None:
    in_document = set(operations_of(document))
    missing = sorted(in_document - set(EXPECTATIONS))
    stale = sorted(set(EXPECTATIONS) - in_document)
    assert not missing, f"operations with no row in authz_expectations.EXPECTATIONS: {missing}"
    assert not stale, f"rows for operations the document no longer holds: {stale}"


def _path(path: str, world: World, whose: str) -> str:
    values = {}
    for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
        if name in PATH_KINDS:
            values[name] = world.ids[(PATH_KINDS[name], whose)]
        elif name == "urn":
            values[name] = world.schools[whose]
        elif name == "zone_id":
            values[name] = world.zone_ids[whose]
        elif name == "fy":
            values[name] = FY
        elif name == "event_type":
            values[name] = world.event_type
        elif name in ("run_id", "dead_letter_id", "replay_id", "event_id"):
            values[name] = world.random_id
        else:
            raise AssertionError(f"the matrix does not know path parameter {{{name}}} of {path}:"
                                 " add it to _path")
    return path.format(**values)


async def call(http: httpx.AsyncClient, world: World, operation_id: str, method: str, path: str,
               operation: dict[str, Any], role: Role | None, whose: str,
               refused: bool) -> httpx.Response:
    rule = EXPECTATIONS[operation_id]
    headers = world.header(role) if role is not None else {}
    params = [p["name"] for p in operation.get("parameters", [])]
    if "If-Match" in params:
        kind = rule.target or ""
        headers["If-Match"] = (world.versions.get((kind, whose), '"1"') if refused else STALE)
    kwargs: dict[str, Any] = {"headers": headers}
    if operation_id in CSV_OPERATIONS:
        headers["Content-Type"] = "text/csv"
        kwargs["content"] = b""
    elif "requestBody" in operation:
        factory = BODIES.get(operation_id)
        kwargs["json"] = factory(world, whose) if factory else {}
    url = _path(path, world, whose)
    if operation_id in STREAMING:
        async with http.stream(method, url, **kwargs) as response:
            await response.aclose()
            return response
    return await http.request(method, url, **kwargs)


def _judge(rule: Rule, role: Role, whose: str, response: httpx.Response) -> str | None:
    status = response.status_code
    expected = rule.expect(role, whose)
    if expected is None:
        if status in (401, 403) or status >= 500 or (status == 404 and not rule.may_404):
            return f"{role.value}/{whose}: let through expected, got {status} {response.text[:200]}"
        return None
    if status != expected:
        return f"{role.value}/{whose}: {expected} expected, got {status} {response.text[:200]}"
    if response.headers.get("content-type", "").split(";")[0] != "application/problem+json":
        return f"{role.value}/{whose}: a {status} that is not application/problem+json"
    return None


@pytest.mark.parametrize("operation_id", sorted(EXPECTATIONS))
async def test_authz_matrix(operation_id: str, document: dict[str, Any], world: World,
                            gateway: httpx.AsyncClient) -> None:
    operations = operations_of(document)
    assert operation_id in operations, f"{operation_id} is not in the merged document"
    method, path, operation = operations[operation_id]
    rule = EXPECTATIONS[operation_id]
    variants = WHOSE if rule.target else ("own",)
    wrong: list[str] = []
    table: list[str] = []
    for role in Role:
        for whose in variants:
            refused = rule.expect(role, whose) is not None
            response = await call(gateway, world, operation_id, method, path, operation, role,
                                  whose, refused)
            table.append(f"{role.value}/{whose}: {response.status_code}")
            if (problem := _judge(rule, role, whose, response)) is not None:
                wrong.append(problem)
    if not rule.public:
        anonymous = await call(gateway, world, operation_id, method, path, operation, None,
                               "own", True)
        if anonymous.status_code != 401:
            wrong.append(f"no token: 401 expected, got {anonymous.status_code}")
    print(f"{operation_id}: " + ", ".join(table))
    assert not wrong, f"{method} {path}:\n" + "\n".join(wrong) + "\n(all: " + ", ".join(table) + ")"


async def test_authz_lists_show_only_own_objects(world: World,
                                                 gateway: httpx.AsyncClient) -> None:
    """Lists filter by the same scope: school A's staff and A's zone's practitioner see A's
    referral, placement request and placement, never B's (and school staff A's application)."""
    own = {world.ids[(k, "own")] for k in ("referral", "request", "placement", "application")}
    other = {world.ids[(k, "other")] for k in ("referral", "request", "placement", "application")}
    lists = {Role.school_staff: ["/v1/referrals", "/v1/placements/requests", "/v1/placements",
                                 "/v1/funding/applications"],
             Role.tas_practitioner: ["/v1/referrals", "/v1/placements/requests",
                                     "/v1/placements"]}
    for role, paths in lists.items():
        for path in paths:
            seen: set[str] = set()
            cursor = None
            while True:
                params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
                page = await _ok(await gateway.get(path, params=params, headers=world.header(role)))
                seen |= {item["id"] for item in page["items"]}
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            assert seen & own, f"{role.value} does not see its own object in {path}"
            assert not seen & other, f"{role.value} sees school B's object in {path}"


# ---------------------------------------------------------------------------- token attacks

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}." \
           f"{_b64(json.dumps(claims).encode())}."


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def _hs256_with_public_key(claims: dict[str, Any], local_keys: Any) -> str:
    public_pem = local_keys.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": local_keys.kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    claims = _claims(token)
    claims["roles"] = ["la_admin"]
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


ATTACKS = ("none_algorithm", "hs256_with_public_key", "wrong_issuer", "wrong_audience",
           "expired", "tampered")
# Where each attack is sent: the gateway, then every service straight (they validate too).
TARGETS = {"gateway": ("gateway", "/v1/events"), "referrals": ("referrals", "/v1/referrals"),
           "placements": ("placements", "/v1/placements"),
           "funding": ("funding", "/v1/funding/applications"), "events": ("events", "/v1/events")}


def attack_token(attack: str, local_keys: Any) -> str:
    good = local_keys.issue_token("authz-attacker", [Role.auditor])
    claims = _claims(good)
    if attack == "none_algorithm":
        return _unsigned(claims)
    if attack == "hs256_with_public_key":
        return _hs256_with_public_key(claims, local_keys)
    if attack == "wrong_issuer":
        return str(local_keys.issue_token("authz-attacker", [Role.auditor],
                                          issuer="https://login.example.com/evil/"))
    if attack == "wrong_audience":
        return str(local_keys.issue_token("authz-attacker", [Role.auditor],
                                          audience="api://someone-else"))
    if attack == "expired":
        return str(local_keys.issue_token("authz-attacker", [Role.auditor], lifetime_s=-3600))
    assert attack == "tampered"
    return _tampered(good)


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("attack", ATTACKS)
async def test_authz_token_attack_is_refused(attack: str, target: str, platform: Any,
                                             local_keys: Any, token_factory: Any) -> None:
    service, path = TARGETS[target]
    base = platform.gateway_url if service == "gateway" else platform.service_url(service)
    # An auditor may read every one of these lists: with a good token each answers 200.
    good = token_factory(Role.auditor, subject="authz-auditor")
    async with httpx.AsyncClient(base_url=base, timeout=30.0, trust_env=False) as http:
        control = await http.get(path, headers={"Authorization": f"Bearer {good}"})
        if service == "referrals":
            # Auditors read no referrals: the control is a role refusal, after authentication.
            assert control.status_code == 403, control.text
        else:
            assert control.status_code == 200, control.text
        bad = attack_token(attack, local_keys)
        response = await http.get(path, headers={"Authorization": f"Bearer {bad}"})
    assert response.status_code == 401, f"{attack} at {target}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 401
    assert "bearer" in response.headers.get("www-authenticate", "").lower()
