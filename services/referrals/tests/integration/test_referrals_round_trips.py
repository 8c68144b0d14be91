"""A create and a submit each take two statements and no BEGIN or COMMIT (each write is one
statement, committing on its own), and what rides on those statements (the idempotency key,
the access-log row, the events) behaves as when each was a statement of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from asyncpg.transaction import Transaction
from referrals_harness import Env, Tokens, act, child_body, cohort_body, create, outbox_types
from sqlalchemy import event, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

from lfi_referrals.access import AccessEntry
from lfi_referrals.domain import referral as domain
from lfi_referrals.messaging.publishing import RequestContext
from lfi_referrals.service import referrals as service
from lfi_shared.auth.principal import Principal, Role
from lfi_shared.http.problems import PreconditionFailed


@contextmanager
def statements_of_this_task(env: Env) -> Iterator[list[str]]:
    """The statements (and BEGIN / COMMIT) the app sends for requests made by the current
    task (the relay and the consumers run in tasks of their own)."""
    engine = env.app.state.database.engine.sync_engine
    task = asyncio.current_task()
    seen: list[str] = []

    def executed(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if asyncio.current_task() is task:
            seen.append(statement.lstrip()[:60])

    start, commit = AsyncAdapt_asyncpg_connection._start_transaction, Transaction.commit

    async def begin_sent(adapted: AsyncAdapt_asyncpg_connection) -> None:
        if asyncio.current_task() is task and adapted.isolation_level != "autocommit":
            seen.append("BEGIN")
        await start(adapted)

    async def commit_sent(transaction: Transaction) -> None:
        if asyncio.current_task() is task:
            seen.append("COMMIT")
        await commit(transaction)

    event.listen(engine, "before_cursor_execute", executed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AsyncAdapt_asyncpg_connection, "_start_transaction", begin_sent)
        patch.setattr(Transaction, "commit", commit_sent)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", executed)


async def access_operations(env: Env, referral_id: str) -> list[str]:
    async with env.database.transaction() as session:
        rows = await session.execute(text(
            "SELECT operation FROM referrals.access_log WHERE referral_id = :r ORDER BY at"),
            {"r": referral_id})
        return [r[0] for r in rows]


async def test_create_and_submit_take_two_statements_each(env: Env, tokens: Tokens) -> None:
    # First a request on the pool: a new connection's own setup is not the requests' work.
    await create(env, tokens.school_a, child_body())
    with statements_of_this_task(env) as seen:
        r = await env.client.post("/v1/referrals", json=child_body(), headers={
            **tokens.school_a, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    assert len(seen) == 2 and seen[1].startswith("WITH idempotency_claim"), seen

    with statements_of_this_task(env) as seen:
        keyless = await env.client.post("/v1/referrals", json=child_body(),
                                        headers=tokens.school_a)
    assert keyless.status_code == 201, keyless.text
    assert len(seen) == 2, seen

    with statements_of_this_task(env) as seen:
        s = await env.client.post(f"/v1/referrals/{r.json()['id']}/submit",
                                  headers={**tokens.school_a, "If-Match": r.headers["ETag"]})
    assert s.status_code == 200, s.text
    assert len(seen) == 2 and "FOR UPDATE" not in seen[0], seen
    assert s.headers["ETag"] == '"2"' and s.json()["status"] == "submitted"
    assert await access_operations(env, r.json()["id"]) == ["create_referral", "submit_referral"]
    assert await outbox_types(env, r.json()["id"]) == ["lfi.referrals.referral.submitted.v1"]


async def test_a_replayed_create_writes_nothing_more(env: Env, tokens: Tokens) -> None:
    body = child_body()
    headers = {**tokens.school_a, "Idempotency-Key": str(uuid.uuid4())}
    first = await env.client.post("/v1/referrals", json=body, headers=headers)
    again = await env.client.post("/v1/referrals", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"] == '"1"'
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    async with env.database.transaction() as session:
        made = await session.scalar(text(
            "SELECT count(*) FROM referrals.referrals WHERE child_upn = :upn"),
            {"upn": body["child"]["upn"]})
    assert made == 1
    assert await access_operations(env, first.json()["id"]) == ["create_referral"]


async def test_a_refused_create_releases_its_key(env: Env, tokens: Tokens) -> None:
    headers = {**tokens.school_a, "Idempotency-Key": str(uuid.uuid4())}
    # Refused by the rules after the key was claimed: a child referral with a cohort part.
    refused = await env.client.post("/v1/referrals", json=child_body(cohort=cohort_body()["cohort"]),
                                    headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "body.cohort"
    unknown = await env.client.post("/v1/referrals", json=child_body(school_urn="999999"),
                                    headers=headers)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["code"] == "unknown_school"
    made = await env.client.post("/v1/referrals", json=child_body(), headers=headers)
    assert made.status_code == 201, made.text
    assert "Idempotent-Replayed" not in made.headers


async def test_refused_transitions_log_no_access_and_record_no_event(env: Env,
                                                                     tokens: Tokens) -> None:
    ref = await create(env, tokens.school_a, child_body())
    stale = await env.client.post(f"/v1/referrals/{ref['id']}/submit",
                                  headers={**tokens.school_a, "If-Match": '"9"'})
    assert stale.status_code == 412
    illegal = await act(env, tokens.practitioner_north, ref, "triage", expect=409)
    assert illegal["current_status"] == "draft"
    assert await access_operations(env, ref["id"]) == ["create_referral"]
    assert await outbox_types(env, ref["id"]) == []


async def test_a_change_to_a_version_no_longer_stored_is_refused_and_writes_nothing(
        env: Env, tokens: Tokens) -> None:
    ref = await create(env, tokens.school_a, child_body())
    principal = Principal(subject="staff-a", roles=frozenset({Role.school_staff}),
                          school_urns=frozenset({ref["school_urn"]}))
    with pytest.raises(PreconditionFailed) as refused:
        async with env.database.transaction() as session:
            # Read without the row lock, then changed by another request in the meantime.
            loaded = await service.load_referral(session, uuid.UUID(ref["id"]))
            await act(env, tokens.school_a, ref, "submit")
            change = domain.submit(loaded.referral, at=service.now(),
                                   policy=env.settings.referral_policy())
            await service.apply_change(
                session, env.settings, loaded, change, RequestContext(),
                access=AccessEntry(principal, "change", "stale_submit", "test"))
    assert refused.value.extra == {"current_etag": '"2"'}
    assert await access_operations(env, ref["id"]) == ["create_referral", "submit_referral"]
    assert await outbox_types(env, ref["id"]) == ["lfi.referrals.referral.submitted.v1"]


async def test_of_two_concurrent_transitions_from_one_version_one_is_refused(
        env: Env, tokens: Tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = await create(env, tokens.school_a, child_body())
    url = f"/v1/referrals/{ref['id']}"
    # Both requests read version 1 and pass If-Match before either writes.
    apply_change, arrived, both = service.apply_change, [], asyncio.Event()

    async def when_both_have_read(*args: Any, **kwargs: Any) -> None:
        arrived.append(1)
        if len(arrived) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 10)
        await apply_change(*args, **kwargs)

    monkeypatch.setattr(service, "apply_change", when_both_have_read)
    submit, withdraw = await asyncio.gather(
        env.client.post(f"{url}/submit", headers={**tokens.school_a, "If-Match": '"1"'}),
        env.client.post(f"{url}/withdraw", json={"reason": "raised_in_error"},
                        headers={**tokens.school_a, "If-Match": '"1"'}))
    assert len(arrived) == 2
    assert sorted([submit.status_code, withdraw.status_code]) == [200, 412], (
        submit.text, withdraw.text)
    won, lost = (submit, withdraw) if submit.status_code == 200 else (withdraw, submit)
    assert lost.json()["current_etag"] == won.headers["ETag"] == '"2"'
    after = (await env.client.get(url, headers=tokens.school_a)).json()
    assert after["status"] == won.json()["status"] and after["version"] == 2
    operation = "submit_referral" if won is submit else "withdraw_referral"
    assert await access_operations(env, ref["id"]) == ["create_referral", operation,
                                                      "read_referral"]
    assert len(await outbox_types(env, ref["id"])) == 1


async def test_of_two_concurrent_creates_with_one_key_one_writes_and_one_replays(
        env: Env, tokens: Tokens, monkeypatch: pytest.MonkeyPatch) -> None:
    body = child_body()
    headers = {**tokens.school_a, "Idempotency-Key": str(uuid.uuid4())}
    # Both requests find nothing stored for the key before either writes.
    insert_draft, arrived, both = service.insert_draft, [], asyncio.Event()

    async def when_both_have_looked(*args: Any, **kwargs: Any) -> bool:
        arrived.append(1)
        if len(arrived) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 10)
        return await insert_draft(*args, **kwargs)

    monkeypatch.setattr(service, "insert_draft", when_both_have_looked)
    first, second = await asyncio.gather(
        env.client.post("/v1/referrals", json=body, headers=headers),
        env.client.post("/v1/referrals", json=body, headers=headers))
    assert len(arrived) == 2
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in (first, second)) == [
        "", "true"]
    async with env.database.transaction() as session:
        made = await session.scalar(text(
            "SELECT count(*) FROM referrals.referrals WHERE child_upn = :upn"),
            {"upn": body["child"]["upn"]})
    assert made == 1
    assert await access_operations(env, first.json()["id"]) == ["create_referral"]
