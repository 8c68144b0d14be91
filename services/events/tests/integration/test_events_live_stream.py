"""The live stream over real HTTP (uvicorn): filters, latency, resuming with Last-Event-ID."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from events_testkit import TestProducer, eventually, example_contract

from lfi_contracts.placements import PlacementOffered, ProvisionCapacityChanged
from lfi_events.main import create_app
from lfi_events.settings import Settings
from lfi_shared.auth import Role


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
async def live_url(migrated_service_database, nats_url: str, events_namespace: str,
                   local_keys, producer: TestProducer) -> AsyncIterator[str]:
    from events_testkit import events_settings

    url = await migrated_service_database("events")
    settings: Settings = events_settings(url, nats_url, events_namespace, local_keys.jwks_path)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    base = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{base}/health/ready")).status_code == 200
        return False

    await eventually(up, timeout_s=30)
    yield base
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)


class SseReader:
    """Reads ``id``/``event``/``data`` records off an open event stream."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next_event(self) -> dict[str, Any]:
        record: dict[str, str] = {}
        async for line in self.lines:
            if line == "":
                if "data" in record:
                    return {"id": int(record["id"]), "type": record.get("event"),
                            "body": json.loads(record["data"])}
                record = {}
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            record[field] = value.removeprefix(" ")
        raise AssertionError("the stream ended")


@contextlib.asynccontextmanager
async def open_stream(base: str, token: str, params: dict[str, str],
                      last_event_id: int | None = None) -> AsyncIterator[SseReader]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=30)) as client, \
            client.stream("GET", f"{base}/v1/events/stream", params=params,
                          headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)


async def test_a_filtered_sse_client_receives_a_new_event_within_a_second(
        live_url: str, producer: TestProducer, token_factory) -> None:
    subject = str(uuid.uuid4())
    async with open_stream(live_url, token_factory(Role.auditor),
                           {"type_prefix": "lfi.placements.placement.",
                            "subject": subject}) as stream:
        await asyncio.sleep(0.3)  # the stream is open and waiting
        # Not matching the filter: another subject, and another type with this subject.
        await producer.publish(example_contract(PlacementOffered), subject=str(uuid.uuid4()))
        await producer.publish(example_contract(ProvisionCapacityChanged), subject=subject)
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        envelope = await producer.publish(example_contract(PlacementOffered), subject=subject)
        event = await asyncio.wait_for(stream.next_event(), timeout=1.0)
        assert loop.time() - sent_at < 1.0
    assert event["body"]["id"] == envelope.id
    assert event["type"] == PlacementOffered.event_type
    assert event["id"] == event["body"]["position"]


async def test_reconnecting_with_last_event_id_resumes_without_gap_or_repeat(
        live_url: str, producer: TestProducer, token_factory) -> None:
    subject = str(uuid.uuid4())
    params = {"subject": subject}
    token = token_factory(Role.la_admin)
    first_ids: list[str] = []
    async with open_stream(live_url, token, params) as stream:
        await asyncio.sleep(0.3)
        sent = [await producer.publish(example_contract(PlacementOffered), subject=subject)
                for _ in range(3)]
        received = [await asyncio.wait_for(stream.next_event(), 10) for _ in range(3)]
    first_ids = [e["body"]["id"] for e in received]
    assert first_ids == [e.id for e in sent]
    last = received[-1]["id"]

    # While disconnected, more events are stored.
    later = [await producer.publish(example_contract(PlacementOffered), subject=subject)
             for _ in range(3)]
    async with open_stream(live_url, token, params, last_event_id=last) as stream:
        resumed = [await asyncio.wait_for(stream.next_event(), 10) for _ in range(3)]
        live = await producer.publish(example_contract(PlacementOffered), subject=subject)
        after = await asyncio.wait_for(stream.next_event(), 10)
    assert [e["body"]["id"] for e in resumed] == [e.id for e in later]
    assert after["body"]["id"] == live.id
    positions = [e["id"] for e in [*received, *resumed, after]]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


async def test_the_stream_refuses_other_roles_and_bad_resume_points(
        live_url: str, token_factory) -> None:
    async with httpx.AsyncClient() as client:
        denied = await client.get(f"{live_url}/v1/events/stream", headers={
            "Authorization": f"Bearer {token_factory(Role.school_staff)}"})
        bad = await client.get(f"{live_url}/v1/events/stream", headers={
            "Authorization": f"Bearer {token_factory(Role.auditor)}", "Last-Event-ID": "abc"})
    assert denied.status_code == 403
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "header.Last-Event-ID"
