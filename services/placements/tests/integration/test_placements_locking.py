"""How requests lock the provisions (docs/adr-capacity.md): a waitlisting in progress never
holds up an offer, and always holds up whatever adds or frees places, which then finds it on
the waiting list."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from placements_harness import HarnessFactory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_placements.db import repositories as repo
from lfi_placements.db.models import PlacementRequestRow
from lfi_placements.db.repositories import ProvisionLock
from lfi_placements.domain.matching import Candidate
from lfi_placements.domain.request import PlacementRequest
from lfi_placements.domain.vocabulary import ProvisionKind
from lfi_placements.service import placing

pytestmark = pytest.mark.timeout(60)

# What a waitlisting holds from its count to its commit.
WAITLISTING_LOCK = "SELECT id FROM placements.provisions WHERE provision_type = 'eib' FOR KEY SHARE"


async def test_an_offer_is_not_held_up_by_a_waitlisting_in_progress(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=1)
    waitlisting = await h.raw()
    try:
        async with waitlisting.transaction():
            await waitlisting.fetch(WAITLISTING_LOCK)
            reply = await asyncio.wait_for(h.request(), timeout=10)
            assert reply.status_code == 201, reply.text
            assert reply.json()["status"] == "offered"
            assert reply.json()["placement"]["provision_id"] == str(provision_id)
    finally:
        await waitlisting.close()


async def test_added_places_wait_for_a_waitlisting_in_progress_then_go_to_it(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=0)
    waiting = await h.request()
    assert waiting.json()["status"] == "waiting"
    waitlisting = await h.raw()
    try:
        tx = waitlisting.transaction()
        await tx.start()
        await waitlisting.fetch(WAITLISTING_LOCK)
        raised = asyncio.create_task(h.client.patch(
            f"/v1/provisions/{provision_id}", json={"capacity": 1},
            headers={**h.headers(), "If-Match": '"1"'}))
        await asyncio.sleep(0.5)
        assert not raised.done()  # the capacity change queues behind the waitlisting
        await tx.commit()
        reply = await asyncio.wait_for(raised, timeout=10)
        assert reply.status_code == 200, reply.text
    finally:
        await waitlisting.close()
    request = await h.client.get(f"/v1/placements/requests/{waiting.json()['id']}",
                                 headers=h.headers())
    assert request.json()["status"] == "offered"  # the new place went to the waiting request


async def _is_locked(conn: asyncpg.Connection, provision_id: uuid.UUID) -> bool:
    """Whether a lock on the provision's row keeps out what frees or adds places there."""
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL lock_timeout = '100ms'")
            await conn.fetch("SELECT id FROM placements.provisions WHERE id = $1 FOR UPDATE",
                             provision_id)
    except asyncpg.LockNotAvailableError:
        return True
    return False


@pytest.mark.parametrize("first_statement", [False, True])
async def test_a_count_holds_its_lock_until_commit_and_lets_it_go_at_the_savepoint(
        harness: HarnessFactory, first_statement: bool) -> None:
    """The count's lock and the request's row are taken in the session's transaction, whether
    or not a statement of the session came first; rolling back to the savepoint lets go of
    both while the transaction goes on, and a count kept is held until commit."""
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=1)
    observer = await h.raw()
    request_id = uuid.uuid4()
    writing = {c.key: None for c in PlacementRequestRow.__table__.c if c.key != "created_at"}
    writing |= {"id": request_id, "child_id": uuid.uuid4(), "home_school_urn": "121234",
                "year_group": "9", "needs": [], "provision_type": "eib",
                "priority": "standard", "requested_start": date(2025, 11, 3),
                "requested_at": datetime.now(UTC), "status": "waiting", "version": 2,
                "updated_at": datetime.now(UTC)}
    try:
        async with h.database.transaction() as session:
            if first_statement:
                await session.execute(text("SELECT 1"))
            await repo.mark_before_locks(session)
            await repo.lock_provisions(session, ProvisionKind.EIB, ProvisionLock.WAITLIST,
                                       writing=writing)
            assert await _is_locked(observer, provision_id)
            await repo.let_go_of_locks(session)
            assert not await _is_locked(observer, provision_id)
            assert await session.scalar(text(
                "SELECT count(*) FROM placements.placement_requests")) == 0
            await repo.lock_provisions(session, ProvisionKind.EIB, ProvisionLock.WAITLIST,
                                       writing=writing)
            assert await _is_locked(observer, provision_id)
        assert not await _is_locked(observer, provision_id)
        assert await observer.fetchval(
            "SELECT status FROM placements.placement_requests WHERE id = $1",
            request_id) == "waiting"
    finally:
        await observer.close()


async def test_a_database_error_in_a_count_is_the_sessions_and_rolls_back(
        harness: HarnessFactory) -> None:
    """A statement run by the driver fails as one run by the session would (a DBAPIError
    carrying the server's SQLSTATE), and the transaction rolls back."""
    h = await harness()
    await h.add_reference_data()
    await h.add_provision(capacity=1)
    # A row with nothing but its id: its NOT NULL columns are missing.
    writing = {c.key: None for c in PlacementRequestRow.__table__.c if c.key != "created_at"}
    writing["id"] = uuid.uuid4()
    with pytest.raises(DBAPIError) as failed:
        async with h.database.transaction() as session:
            await session.execute(text("SELECT 1"))
            await repo.mark_before_locks(session)
            await repo.lock_provisions(session, ProvisionKind.EIB, ProvisionLock.WAITLIST,
                                       writing=writing)
    assert getattr(failed.value.orig, "sqlstate", None) == "23502"  # not_null_violation
    observer = await h.raw()
    try:
        assert await observer.fetchval(
            "SELECT count(*) FROM placements.placement_requests") == 0
    finally:
        await observer.close()


async def test_a_request_whose_counted_place_is_gone_at_every_attempt_waits_once(
        harness: HarnessFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each count under the shared lock sees a place that the count under the offer's lock
    then finds taken: every speculative waiting row is undone with its lock, and after the
    last attempt the request is written once, waiting, under the offer's lock."""
    h = await harness()
    await h.add_reference_data()
    await h.add_provision(capacity=0)
    real_count = placing._count

    async def a_place_seen_under_the_shared_lock(
            session: AsyncSession, request: PlacementRequest, stay: Any, lock: ProvisionLock,
            facts: Any, *, writing: dict[str, Any] | None = None) -> Any:
        counted = await real_count(session, request, stay, lock, facts, writing=writing)
        if lock is not ProvisionLock.WAITLIST:
            return counted
        provisions = await repo.lock_provisions(session, request.provision_type, lock)
        return dataclasses.replace(counted, chosen=Candidate(provisions[0], free_places=1))

    monkeypatch.setattr(placing, "_count", a_place_seen_under_the_shared_lock)
    reply = await h.request()
    assert reply.status_code == 201, reply.text
    assert reply.json()["status"] == "waiting"
    assert reply.json()["version"] == 2
    conn = await h.raw()
    try:
        assert await conn.fetchval(
            "SELECT count(*) FROM placements.placement_requests WHERE status = 'waiting'") == 1
        assert await conn.fetchval("SELECT count(*) FROM placements.placement_requests") == 1
        waitlisted = await conn.fetch(
            "SELECT payload FROM placements.outbox WHERE event_type = $1",
            "lfi.placements.request.waitlisted.v1")
        assert [json.loads(r["payload"])["data"]["position"] for r in waitlisted] == [1]
    finally:
        await conn.close()
