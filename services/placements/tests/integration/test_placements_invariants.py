"""Capacity and one-placement-per-child are held by the database itself, whatever the
concurrency; the API gives exactly as many offers as there are places."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import asyncpg
import pytest
from placements_harness import HarnessFactory

pytestmark = pytest.mark.timeout(120)

INSERT_PLACEMENT = """
INSERT INTO placements.placements
    (id, request_id, child_id, provision_id, provision_type, home_school_urn, status,
     start_date, planned_end, offered_on, offer_expires_on)
VALUES ($1, $2, $3, $4, 'eib', '121234', 'offered', $5, $6, '2025-10-01', '2025-10-15')
"""
INSERT_REQUEST = """
INSERT INTO placements.placement_requests
    (id, child_id, home_school_urn, year_group, provision_type, priority, requested_start,
     requested_at, status)
VALUES ($1, $2, '121234', '9', 'eib', 'standard', $3, now(), 'offered')
"""


async def _waiting_on_advisory_lock(conn: asyncpg.Connection, backend_pid: int) -> None:
    """Returns once ``backend_pid`` waits on an advisory lock (fails after ~10 s)."""
    for _ in range(200):
        if await conn.fetchval(
                "SELECT wait_event = 'advisory' FROM pg_stat_activity WHERE pid = $1",
                backend_pid):
            return
        await asyncio.sleep(0.05)
    pytest.fail("the second writer never queued on the child's lock")


async def _hold(conn: asyncpg.Connection, provision_id: uuid.UUID, *,
                child_id: uuid.UUID | None = None, start: date = date(2025, 11, 3),
                end: date = date(2025, 12, 19)) -> None:
    request_id, child = uuid.uuid4(), child_id or uuid.uuid4()
    await conn.execute(INSERT_REQUEST, request_id, child, start)
    await conn.execute(INSERT_PLACEMENT, uuid.uuid4(), request_id, child, provision_id, start,
                       end)


async def test_fifty_simultaneous_requests_for_three_places_give_three_offers(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=3)

    replies = await asyncio.gather(*(h.request(priority="high") for _ in range(50)))

    assert [r.status_code for r in replies] == [201] * 50, replies[0].text
    statuses = sorted(r.json()["status"] for r in replies)
    assert statuses.count("offered") == 3
    assert statuses.count("waiting") == 47
    offered = [r.json()["placement"] for r in replies if r.json()["status"] == "offered"]
    assert {p["provision_id"] for p in offered} == {str(provision_id)}
    view = (await h.client.get("/v1/capacity", params={"on": "2025-11-03"},
                               headers=h.headers())).json()
    assert view["overall"] == {"provisions": 1, "capacity": 3, "held": 3, "free": 0,
                               "waiting": 47}


async def test_database_refuses_an_over_capacity_hold_inserted_past_the_application(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=2)
    conn = await h.raw()
    try:
        await _hold(conn, provision_id)
        await _hold(conn, provision_id, start=date(2025, 12, 1))
        # A hold on days with no one else is fine; one on a full day is not.
        await _hold(conn, provision_id, start=date(2026, 1, 6), end=date(2026, 3, 27))
        with pytest.raises(asyncpg.CheckViolationError) as refused:
            await _hold(conn, provision_id, start=date(2025, 12, 10), end=date(2026, 1, 10))
        assert refused.value.constraint_name == "placements_within_capacity"
        # Lowering the capacity below the places held is refused too.
        with pytest.raises(asyncpg.CheckViolationError) as lowered:
            await conn.execute("UPDATE placements.provisions SET capacity = 1 WHERE id = $1",
                               provision_id)
        assert lowered.value.constraint_name == "capacity_covers_places_held"
        held = await conn.fetchval(
            "SELECT count(*) FROM placements.placements WHERE provision_id = $1", provision_id)
        assert held == 3
    finally:
        await conn.close()


async def test_database_refuses_the_second_of_two_concurrent_holds_of_the_last_place(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=1)
    first, second = await h.raw(), await h.raw()
    try:
        first_tx = first.transaction()
        await first_tx.start()
        await _hold(first, provision_id)  # not committed yet
        second_tx = second.transaction()
        await second_tx.start()
        racing = asyncio.create_task(_hold(second, provision_id))
        await asyncio.sleep(0.3)
        assert not racing.done()  # queued on the provision row
        await first_tx.commit()
        with pytest.raises(asyncpg.CheckViolationError):
            await racing
        await second_tx.rollback()
    finally:
        await first.close()
        await second.close()


async def test_database_refuses_overlapping_placements_for_one_child(
        harness: HarnessFactory) -> None:
    h = await harness()
    await h.add_reference_data()
    base_a = await h.add_provision(capacity=5)
    base_b = await h.add_provision(capacity=5)
    child = uuid.uuid4()
    conn = await h.raw()
    try:
        await _hold(conn, base_a, child_id=child, start=date(2025, 11, 3),
                    end=date(2025, 12, 19))
        with pytest.raises(asyncpg.ExclusionViolationError) as refused:
            await _hold(conn, base_b, child_id=child, start=date(2025, 12, 19),
                        end=date(2026, 2, 1))
        assert refused.value.constraint_name == "placements_child_no_overlap"
        # The next day is not an overlap; an ended placement holds nothing.
        await _hold(conn, base_b, child_id=child, start=date(2026, 1, 6), end=date(2026, 3, 27))
        await conn.execute("UPDATE placements.placements SET status = 'ended' "
                           "WHERE child_id = $1 AND provision_id = $2", child, base_a)
        await _hold(conn, base_a, child_id=child, start=date(2025, 11, 10),
                    end=date(2025, 12, 1))
    finally:
        await conn.close()


@pytest.mark.parametrize("isolation", ["read_committed", "serializable"])
async def test_two_concurrent_overlapping_holds_for_one_child_leave_exactly_one(
        harness: HarnessFactory, isolation: str) -> None:
    h = await harness()
    await h.add_reference_data()
    base_a = await h.add_provision(capacity=5)
    base_b = await h.add_provision(capacity=5)  # two provisions: only the child's lock is shared
    child = uuid.uuid4()
    first, second, observer = await h.raw(), await h.raw(), await h.raw()
    try:
        first_tx = first.transaction(isolation=isolation)
        second_tx = second.transaction(isolation=isolation)
        await first_tx.start()
        await second_tx.start()
        await _hold(first, base_a, child_id=child)  # not committed yet
        racing = asyncio.create_task(_hold(second, base_b, child_id=child,
                                           start=date(2025, 12, 1), end=date(2026, 2, 13)))
        await _waiting_on_advisory_lock(observer, second.get_server_pid())
        assert not racing.done()
        await first_tx.commit()
        # READ COMMITTED: the overlap query sees the first hold, committed while it waited.
        # SERIALIZABLE: its snapshot cannot, so the predicate locks refuse one of the two.
        refusals: tuple[type[Exception], ...] = (
            (asyncpg.ExclusionViolationError,) if isolation == "read_committed"
            else (asyncpg.ExclusionViolationError, asyncpg.SerializationError))
        try:
            await racing
        except refusals as refused:  # the insert itself: its transaction is still open
            await second_tx.rollback()
            if isinstance(refused, asyncpg.ExclusionViolationError):
                assert refused.constraint_name == "placements_child_no_overlap"
        else:  # only SERIALIZABLE may let the insert through, to refuse the commit
            assert isolation == "serializable"
            with pytest.raises(asyncpg.SerializationError):
                await second_tx.commit()
        holds = await observer.fetch(
            "SELECT provision_id FROM placements.placements WHERE child_id = $1", child)
        assert [r["provision_id"] for r in holds] == [base_a]
    finally:
        for conn in (first, second, observer):
            await conn.close()


async def test_database_refuses_a_hold_written_under_repeatable_read(
        harness: HarnessFactory) -> None:
    """REPEATABLE READ would keep a snapshot from before a concurrent hold of the same child
    committed, so the overlap query could miss it: such writes are refused outright."""
    h = await harness()
    await h.add_reference_data()
    provision_id = await h.add_provision(capacity=5)
    conn = await h.raw()
    try:
        async with conn.transaction(isolation="repeatable_read"):
            with pytest.raises(asyncpg.FeatureNotSupportedError) as refused:
                await _hold(conn, provision_id)
        assert "REPEATABLE READ" in str(refused.value)
        assert await conn.fetchval("SELECT count(*) FROM placements.placements") == 0
    finally:
        await conn.close()


async def test_api_answers_409_when_the_database_refuses_an_overlap_it_could_not_see(
        harness: HarnessFactory) -> None:
    """A hold of the same child not yet committed when the API checked: the API's insert
    queues on the child's lock, then the database refuses it; the caller gets the same 409
    problem as the application's own check, and nothing of the request is kept."""
    h = await harness()
    await h.add_reference_data()
    base = await h.add_provision(kind="eib", capacity=5)
    await h.add_provision(kind="apc", capacity=5, year_groups=("9",))
    child = uuid.uuid4()
    raw, observer = await h.raw(), await h.raw()
    try:
        tx = raw.transaction()
        await tx.start()
        await _hold(raw, base, child_id=child)
        asked = asyncio.create_task(h.request(child_id=child, kind="apc"))
        for _ in range(200):
            assert not asked.done(), asked.result().text
            if await observer.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event = 'advisory'"):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the API's insert never queued on the child's lock")
        await tx.commit()
        reply = await asked
        assert reply.status_code == 409, reply.text
        problem = reply.json()
        assert problem["type"].endswith("overlapping-placement")
        assert problem["title"] == "The child already holds a placement in that period"
        listed = await h.client.get("/v1/placements/requests", params={"child_id": str(child)},
                                    headers=h.headers())
        assert [r["provision_type"] for r in listed.json()["items"]] == ["eib"]
    finally:
        await raw.close()
        await observer.close()


async def test_api_refuses_a_child_an_overlapping_placement_and_a_second_open_request(
        harness: HarnessFactory) -> None:
    """The application's own checks, for a child holding two placements (one a term): a
    request overlapping one of them is refused naming it; one after both is refused naming
    the child's open request of the type. Nothing of either is kept."""
    h = await harness()
    await h.add_reference_data()
    base = await h.add_provision(kind="eib", capacity=5)
    child = uuid.uuid4()
    conn = await h.raw()
    try:
        await _hold(conn, base, child_id=child)  # the autumn term
        await _hold(conn, base, child_id=child, start=date(2026, 1, 6), end=date(2026, 3, 27))
        spring = await conn.fetchval(
            "SELECT id FROM placements.placements WHERE child_id = $1 AND start_date = $2",
            child, date(2026, 1, 6))
        requests = {str(r["id"]) for r in await conn.fetch(
            "SELECT id FROM placements.placement_requests WHERE child_id = $1", child)}
    finally:
        await conn.close()

    overlapping = await h.request(child_id=child, start=date(2026, 1, 6))
    assert overlapping.status_code == 409, overlapping.text
    assert overlapping.json()["type"].endswith("overlapping-placement")
    assert overlapping.json()["placement_id"] == str(spring)

    after_both = await h.request(child_id=child, start=date(2026, 4, 15))
    assert after_both.status_code == 409, after_both.text
    assert after_both.json()["type"].endswith("overlapping-placement")
    assert after_both.json()["request_id"] in requests

    listed = await h.client.get("/v1/placements/requests", params={"child_id": str(child)},
                                headers=h.headers())
    assert {r["id"] for r in listed.json()["items"]} == requests
