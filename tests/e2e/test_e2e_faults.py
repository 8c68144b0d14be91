"""Fault injection against the services running as their own processes (DESIGN §5): the
broker down, a service killed mid-flight, database connections cut. Nothing lost, nothing
applied twice.

Every fault is made by the test itself: a private NATS server it kills and starts again, the
service processes it SIGKILLs and restarts, ``pg_terminate_backend`` on the services'
connections. The load is what the services' clients do (Idempotency-Key on creates, If-Match
on transitions, a retry after a failure); afterwards, once the asynchronous side has settled:

* every event id in every service's outbox is published, stored once by the events service,
  and in the inbox of each consumer that subscribes to it; no dead letter, no rejected event;
* every write that got a 2xx is there (its row, in the state the answer said), and there is
  no write more than the answers account for (a retried create is not a second referral, a
  redelivered placement request is not a second request).

Only the fault durations the issue names are timed (NATS down for 10 s); every wait polls
until the counts converge, with a generous timeout.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from e2e_api import child_referral_body, cohort_referral_body, support_plan
from e2e_stack import DATA_SERVICES, E2EStack, client, eventually, start_stack, stop_stack

from lfi_funding.messaging.handlers import referrals_subscription
from lfi_funding.settings import Settings as FundingSettings
from lfi_placements.messaging.handlers import CONSUMER_NAME as PLACEMENTS_CONSUMER
from lfi_referrals.messaging.handlers import subscriptions as referrals_subscriptions
from lfi_shared.auth.principal import Role
from lfi_shared.testing.nats import NatsServer
from lfi_shared.testing.plugin import role_for_tests

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

WORKERS = 8
WAIT_S = 120.0  # convergence after a fault, on a loaded 2-core CI machine
ITEM_DEADLINE_S = 120.0  # how long one client keeps retrying one write
PRODUCERS = ("referrals", "placements", "funding")


# ------------------------------------------------------------------------------ consumers


@dataclass(frozen=True)
class Consumer:
    """A durable consumer: whose inbox (schema), which producer, which event types."""

    schema: str
    name: str
    producer: str
    filters: tuple[str, ...] = ()  # NATS subject filters; () = the whole stream

    def wants(self, event_type: str) -> bool:
        if not self.filters:
            return True
        return any(event_type.startswith(f.removesuffix(">")) if f.endswith(">")
                   else event_type == f for f in self.filters)


def _filters(value: str | Any | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def consumers() -> list[Consumer]:
    """Every durable consumer of the platform, from the services' own subscriptions where they
    expose them."""
    found = [Consumer("referrals", s.name, s.producer, _filters(s.event_filter))
             for s in referrals_subscriptions()]
    funding = referrals_subscription(FundingSettings())
    found.append(Consumer("funding", funding.name, funding.producer,
                          _filters(funding.event_filter)))
    # Placements builds its subscription inside create_app (lfi_placements.main).
    found.append(Consumer("placements", PLACEMENTS_CONSUMER, "referrals",
                          ("lfi.referrals.referral.placement_requested.>",
                           "lfi.referrals.zone.>", "lfi.referrals.school.>")))
    found += [Consumer("events", f"events-store-{p}", p) for p in PRODUCERS]
    return found


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A private JetStream server (the mechanism of ``nats_server_factory``, held for the
    module): the tests kill it and start it again on the same port and store."""
    server = NatsServer(tmp_path_factory.mktemp("e2e-nats") / "store")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def stack(tmp_path_factory, test_database, nats_server: NatsServer, run_id, local_keys
                ) -> AsyncIterator[E2EStack]:
    env: dict[str, str] = {"LFI_PLACEMENTS_OFFER_SWEEP_INTERVAL_S": "0",
                           "LFI_EVENTS_STORE_FETCH_TIMEOUT_S": "1"}
    for service in DATA_SERVICES:
        # A message a killed consumer held comes back after this (JetStream's ack wait);
        # shorter than the default only so that the module converges sooner.
        env[f"{service.prefix}CONSUMER_ACK_WAIT_S"] = "5"
        env[f"{service.prefix}CONSUMER_FETCH_TIMEOUT_S"] = "1"
    running, _ = await start_stack(
        workdir=tmp_path_factory.mktemp("e2e-faults"), test_database=test_database,
        tag="e2e_faults", nats_url=nats_server.url, namespace=f"e2ef{run_id}",
        jwks_path=local_keys.jwks_path, services=DATA_SERVICES, extra_env=env)
    try:
        yield running
    finally:
        await stop_stack(running, test_database)


@dataclass
class Ledger:
    """What the services answered 2xx to, across the module's tests."""

    created: set[str] = field(default_factory=set)
    submitted: set[str] = field(default_factory=set)
    placement_requested: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger()


@dataclass
class Actors:
    school_urns: list[str]
    school: dict[str, str]
    practitioner: dict[str, str]


@pytest.fixture(scope="module")
async def actors(stack: E2EStack, token_factory) -> Actors:
    admin = {"Authorization": "Bearer " + token_factory(Role.la_admin)}
    async with client(stack.url("referrals")) as http:
        schools = (await http.get("/v1/schools", params={"limit": 30}, headers=admin)).json()
        zones = (await http.get("/v1/zones", params={"limit": 50}, headers=admin)).json()
    urns = [s["urn"] for s in schools["items"]]
    assert len(urns) >= 10, schools
    school = token_factory(Role.school_staff, school_urns=urns, subject="e2e-fault-school")
    practitioner = token_factory(Role.tas_practitioner, zones=[z["code"] for z in zones["items"]],
                                 subject=str(uuid.uuid4()))
    return Actors(school_urns=urns, school={"Authorization": f"Bearer {school}"},
                  practitioner={"Authorization": f"Bearer {practitioner}"})


# ------------------------------------------------------------------------------ the load


class RetryingClient:
    """What a well-behaved client of the API does: retry a failed write (same
    Idempotency-Key; a transition re-read for its ETag, and not repeated once it shows)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.failures: Counter[str] = Counter()  # what went wrong on the way (not fatal)

    async def _backoff(self, attempt: int) -> None:
        await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt) * (0.5 + random.random()))

    async def create(self, path: str, body: Any, headers: dict[str, str]) -> dict[str, Any]:
        headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        deadline = time.monotonic() + ITEM_DEADLINE_S
        for attempt in range(10_000):
            try:
                response = await self.http.post(path, json=body, headers=headers)
                if response.status_code == 201:
                    return {"body": response.json(), "etag": response.headers.get("etag")}
                self.failures[f"POST {path} {response.status_code}"] += 1
                # 409: the same key still being handled (an attempt the client gave up on).
                if response.status_code < 500 and response.status_code != 409:
                    raise AssertionError(f"POST {path}: {response.status_code} {response.text}")
            except httpx.TransportError as exc:
                self.failures[f"POST {path} {type(exc).__name__}"] += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"POST {path} kept failing: {self.failures}")
            await self._backoff(attempt)
        raise AssertionError("unreachable")

    async def transition(self, path: str, action: str, body: Any, headers: dict[str, str], *,
                         done: Callable[[dict[str, Any]], bool], etag: str | None = None
                         ) -> None:
        """POST ``path/action`` with If-Match until it succeeds or a read shows it done
        (an earlier attempt committed although its answer was lost)."""
        deadline = time.monotonic() + ITEM_DEADLINE_S
        for attempt in range(10_000):
            try:
                if etag is None:
                    read = await self.http.get(path, headers=headers)
                    if read.status_code != 200:
                        self.failures[f"GET {read.status_code}"] += 1
                        raise _Retry
                    if done(read.json()):
                        return
                    etag = read.headers["etag"]
                response = await self.http.post(f"{path}/{action}", json=body,
                                                headers={**headers, "If-Match": etag})
                if 200 <= response.status_code < 300:
                    return
                self.failures[f"POST {action} {response.status_code}"] += 1
                if response.status_code < 500 and response.status_code not in (409, 412):
                    raise AssertionError(f"POST {path}/{action}: {response.status_code} "
                                         f"{response.text}")
            except httpx.TransportError as exc:
                self.failures[f"POST {action} {type(exc).__name__}"] += 1
            except _Retry:
                pass
            etag = None
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}/{action} kept failing: {self.failures}")
            await self._backoff(attempt)


class _Retry(Exception):
    pass


class Progress:
    """Items done so far, and a way to wait for a number of them."""

    def __init__(self) -> None:
        self.done = 0
        self._waiters: list[tuple[int, asyncio.Event]] = []

    def step(self) -> None:
        self.done += 1
        for count, event in self._waiters:
            if self.done >= count:
                event.set()

    async def reached(self, count: int) -> None:
        event = asyncio.Event()
        if self.done >= count:
            return
        self._waiters.append((count, event))
        await event.wait()


async def run_load(count: int, item: Callable[[int], Awaitable[None]], progress: Progress,
                   workers: int = WORKERS) -> None:
    """``item(i)`` for i in range(count), ``workers`` at a time; the first error fails it."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await item(i)
            progress.step()

    await asyncio.gather(*(worker() for _ in range(workers)))


def submissions(api: RetryingClient, actors: Actors, ledger: Ledger, tag: str
                ) -> Callable[[int], Awaitable[None]]:
    """One referral submission: create a draft, then submit it."""

    async def one(i: int) -> None:
        urn = actors.school_urns[i % len(actors.school_urns)]
        created = await api.create("/v1/referrals",
                                   cohort_referral_body(urn, f"{tag} cohort {i}"), actors.school)
        referral_id = created["body"]["id"]
        ledger.created.add(referral_id)
        await api.transition(f"/v1/referrals/{referral_id}", "submit", None, actors.school,
                             done=lambda r: r["status"] != "draft", etag=created["etag"])
        ledger.submitted.add(referral_id)

    return one


# ------------------------------------------------------------------------------ the checks


@dataclass
class Convergence:
    unpublished: dict[str, int]
    missing_in_store: dict[str, int]
    stored_twice: int
    stored_unknown: int
    rejected: int
    missing_at_consumer: dict[str, int]
    dead_letters: dict[str, int]
    outbox_sizes: dict[str, int]

    @property
    def ok(self) -> bool:
        return not (any(self.unpublished.values()) or any(self.missing_in_store.values())
                    or self.stored_twice or self.stored_unknown or self.rejected
                    or any(self.missing_at_consumer.values()) or any(self.dead_letters.values()))


async def convergence(stack: E2EStack) -> Convergence:
    conn = await stack.admin_connection()
    try:
        outbox: dict[str, dict[Any, str]] = {}
        unpublished: dict[str, int] = {}
        for producer in PRODUCERS:
            rows = await conn.fetch(
                f"SELECT id, event_type, published_at FROM {producer}.outbox")
            outbox[producer] = {r["id"]: r["event_type"] for r in rows}
            unpublished[producer] = sum(1 for r in rows if r["published_at"] is None)
        stored = Counter(r["id"] for r in await conn.fetch("SELECT id FROM events.stored_events"))
        every_outbox_id = {i for ids in outbox.values() for i in ids}
        rejected = await conn.fetchval("SELECT count(*) FROM events.rejected_events")
        missing_at_consumer: dict[str, int] = {}
        for consumer in consumers():
            inbox = {r["event_id"] for r in await conn.fetch(
                f"SELECT event_id FROM {consumer.schema}.inbox WHERE consumer = $1",
                consumer.name)}
            wanted = {i for i, t in outbox[consumer.producer].items() if consumer.wants(t)}
            missing_at_consumer[f"{consumer.schema}/{consumer.name}"] = len(wanted - inbox)
        dead = {s: await conn.fetchval(
            f"SELECT count(*) FROM {s}.dead_letters WHERE resolved_at IS NULL")
            for s in (*PRODUCERS, "events")}
        return Convergence(
            unpublished=unpublished,
            missing_in_store={p: len(set(ids) - set(stored)) for p, ids in outbox.items()},
            stored_twice=sum(1 for n in stored.values() if n > 1),
            stored_unknown=len(set(stored) - every_outbox_id),
            rejected=rejected,
            missing_at_consumer=missing_at_consumer,
            dead_letters=dead,
            outbox_sizes={p: len(ids) for p, ids in outbox.items()},
        )
    finally:
        await conn.close()


async def assert_converged(stack: E2EStack) -> Convergence:
    """Poll until every outbox event is published, stored once, and at each consumer."""
    last: list[Convergence] = []

    async def settled() -> bool:
        last[:] = [await convergence(stack)]
        return last[0].ok

    try:
        await eventually(settled, timeout=WAIT_S, interval=1.0, what="events settled")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{last[0] if last else ''}") from None
    return last[0]


async def assert_no_write_lost_or_doubled(stack: E2EStack, ledger: Ledger) -> None:
    """Every referral a 2xx created is there, in the state the answers said; no referral and no
    submitted event more than the answers account for."""
    conn = await stack.admin_connection()
    try:
        rows = {str(r["id"]): r["status"]
                for r in await conn.fetch("SELECT id, status FROM referrals.referrals")}
        submitted_events = Counter(r["subject"] for r in await conn.fetch(
            "SELECT subject FROM referrals.outbox WHERE event_type = $1",
            "lfi.referrals.referral.submitted.v1"))
    finally:
        await conn.close()
    assert ledger.created <= set(rows), f"{len(ledger.created - set(rows))} created referrals lost"
    assert len(rows) == len(ledger.created), "more referrals than creates answered 2xx"
    not_submitted = [i for i in ledger.submitted if rows[i] == "draft"]
    assert not not_submitted, f"{len(not_submitted)} submissions answered 2xx are lost"
    assert set(submitted_events) == {i for i, s in rows.items() if s != "draft"}
    assert all(submitted_events[i] == 1 for i in ledger.submitted), "a submission published twice"


# ------------------------------------------------------------------------------ (a) NATS down


async def test_nats_killed_for_10_seconds_during_500_submissions(
        stack: E2EStack, nats_server: NatsServer, actors: Actors, ledger: Ledger) -> None:
    progress = Progress()
    during: dict[str, int] = {}
    readiness_while_down: list[int] = []

    async with client(stack.url("referrals")) as http:
        api = RetryingClient(http)

        async def outage() -> None:
            await progress.reached(100)
            await asyncio.to_thread(nats_server.kill)
            during["down_at"] = progress.done
            began = time.monotonic()

            async def not_ready() -> bool:
                ready = await http.get("/health/ready")
                readiness_while_down.append(ready.status_code)
                return ready.status_code == 503

            await eventually(not_ready, timeout=8, interval=0.2, what="readiness says NATS is away")
            await asyncio.sleep(max(0.0, 10.0 - (time.monotonic() - began)))
            during["up_at"] = progress.done
            await asyncio.to_thread(nats_server.start)

        await asyncio.gather(run_load(500, submissions(api, actors, ledger, "nats-down"),
                                      progress), outage())

    # Writes only touch the database (the outbox): not one request failed, before, during or
    # after the outage, and submissions went on while NATS was down.
    assert not api.failures, api.failures
    assert during["up_at"] > during["down_at"], during
    assert 503 in readiness_while_down
    assert len(ledger.submitted) >= 500

    await asyncio.to_thread(stack.wait_ready, timeout=WAIT_S)  # every service reconnected
    settled = await assert_converged(stack)
    assert settled.outbox_sizes["referrals"] >= 500
    await assert_no_write_lost_or_doubled(stack, ledger)


# ------------------------------------------------------------------------------ (b) SIGKILL


async def test_placements_and_events_killed_mid_load_of_placement_requests(
        stack: E2EStack, actors: Actors, ledger: Ledger) -> None:
    count = 60
    async with client(stack.url("referrals")) as http:
        api = RetryingClient(http)

        # Accepted child referrals (no fault yet).
        accepted: list[str] = []

        async def accept(i: int) -> None:
            urn = actors.school_urns[i % len(actors.school_urns)]
            created = await api.create("/v1/referrals", child_referral_body(urn, 10_000 + i),
                                       actors.school)
            referral_id = created["body"]["id"]
            ledger.created.add(referral_id)
            path = f"/v1/referrals/{referral_id}"
            await api.transition(path, "submit", None, actors.school,
                                 done=lambda r: r["status"] != "draft", etag=created["etag"])
            ledger.submitted.add(referral_id)
            await api.transition(path, "triage", {}, actors.practitioner,
                                 done=lambda r: r["status"] not in ("draft", "submitted"))
            await api.transition(path, "accept", support_plan("child"), actors.practitioner,
                                 done=lambda r: r["status"] == "accepted")
            accepted.append(referral_id)

        await run_load(count, accept, Progress())

        # The load: a placement request for each; placements (which consumes them and
        # publishes offers) and events (which stores everything) die by SIGKILL a third of
        # the way through, and are started again.
        progress = Progress()

        async def request(i: int) -> None:
            referral_id = accepted[i]
            await api.transition(
                f"/v1/referrals/{referral_id}", "placement-requests",
                {"provision_type": "apc", "priority": ("high", "standard")[i % 2]},
                actors.practitioner, done=lambda r: r["shown"]["placement"] is not None)
            ledger.placement_requested.add(referral_id)

        async def crash() -> None:
            await progress.reached(count // 3)
            stack.kill("placements")
            stack.kill("events")
            await progress.reached(2 * count // 3)
            await asyncio.to_thread(stack.start, ["placements", "events"])

        await asyncio.gather(run_load(count, request, progress, workers=4), crash())

    assert len(ledger.placement_requested) == count
    await assert_converged(stack)
    await assert_no_write_lost_or_doubled(stack, ledger)

    # Each request reached placements exactly once, and each referral shows the answer.
    conn = await stack.admin_connection()
    try:
        ids = [uuid.UUID(i) for i in ledger.placement_requested]
        per_referral = Counter(r["referral_id"] for r in await conn.fetch(
            "SELECT referral_id FROM placements.placement_requests WHERE referral_id = ANY($1)",
            ids))
        received = Counter(r["subject"] for r in await conn.fetch(
            "SELECT subject FROM placements.outbox WHERE event_type = $1",
            "lfi.placements.request.received.v1"))

        async def shown() -> bool:
            rows = await conn.fetch(
                "SELECT shown_placement->>'status' AS status FROM referrals.referrals "
                "WHERE id = ANY($1)", ids)
            return all(r["status"] in ("offered", "waitlisted") for r in rows)

        await eventually(shown, timeout=WAIT_S, what="every referral shows its placement answer")
    finally:
        await conn.close()
    assert set(per_referral) == set(ids)
    assert set(per_referral.values()) == {1}, "a placement request applied twice"
    assert all(n == 1 for n in received.values()), "a request received twice"


async def test_referrals_killed_mid_load_of_submissions(stack: E2EStack, actors: Actors,
                                                       ledger: Ledger) -> None:
    """The service taking the writes dies (its relay perhaps between publishing to NATS and
    marking the rows published, its consumers mid-transaction); clients retry until it is
    back. A retried create is the same referral; a republished event is stored once."""
    progress = Progress()

    async def crash() -> None:
        await progress.reached(40)
        stack.kill("referrals")
        await asyncio.to_thread(stack.start, ["referrals"])

    async with client(stack.url("referrals")) as http:
        api = RetryingClient(http)
        await asyncio.gather(run_load(150, submissions(api, actors, ledger, "sigkill"),
                                      progress), crash())

    assert api.failures, "the crash was not felt by any client"
    await assert_converged(stack)
    await assert_no_write_lost_or_doubled(stack, ledger)


# ------------------------------------------------------------------------------ (c) DB cut


async def test_database_connections_cut_mid_load(stack: E2EStack, actors: Actors,
                                                 ledger: Ledger) -> None:
    progress = Progress()
    cut: list[int] = []
    roles = [role_for_tests(s.name) for s in DATA_SERVICES]

    async def cut_connections() -> None:
        for threshold in (60, 130):
            await progress.reached(threshold)
            conn = await stack.admin_connection()
            try:
                terminated = await conn.fetch(
                    "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity "
                    "WHERE datname = $1 AND usename = ANY($2) AND pid <> pg_backend_pid()",
                    stack.database.name, roles)
            finally:
                await conn.close()
            cut.append(sum(1 for r in terminated if r["done"]))

    async with client(stack.url("referrals")) as http:
        api = RetryingClient(http)
        await asyncio.gather(run_load(200, submissions(api, actors, ledger, "db-cut"), progress),
                             cut_connections())

    # Each cut took connections away (the services' pools, relays, LISTENs, consumers).
    assert len(cut) == 2 and all(n > 0 for n in cut), cut
    await asyncio.to_thread(stack.wait_ready, timeout=WAIT_S)
    await assert_converged(stack)
    await assert_no_write_lost_or_doubled(stack, ledger)
