"""Scenario 4: event latency from commit to the consumer's committed effect, at 200 events/s.

Built on :mod:`lfi_shared.messaging` directly, in two processes as two services would be
(see :mod:`lfi_bench.scenarios.event_latency_worker` for how each side stamps its commit):
a producer writing a row and its outbox event at a steady 200 a second with its relay, and a
consumer applying each event. Events of the warm-up are sent but not counted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import nats
from nats.js.errors import NotFoundError
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from lfi_bench.context import BenchContext
from lfi_bench.load.stats import LatencyStats
from lfi_bench.results import Result, at_least, below, equal, info
from lfi_bench.scenarios.common import Scenario
from lfi_bench.scenarios.event_latency_tables import (
    CONSUMER_SCHEMA,
    PRODUCER,
    PRODUCER_SCHEMA,
    consumer_tables,
    producer_tables,
)
from lfi_devstack.processes import die_with_parent
from lfi_shared.messaging import durable_name, ensure_stream

NAME = "event_latency"
TITLE = "Event latency, commit → consumer's committed effect, at 200 events/s"
RATE = 200.0
RATE_FLOOR = 0.95
P50_TARGET_MS = 5.0
P99_TARGET_MS = 25.0
CONSUMER = "latency"
WORKER = "lfi_bench.scenarios.event_latency_worker"


class WorkerFailed(RuntimeError):
    pass


async def _create(url: str, metadata: MetaData) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


async def _spawn(role: str, config: dict[str, Any], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", WORKER, role, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=stderr, preexec_fn=die_with_parent())
    assert process.stdin is not None
    process.stdin.write(json.dumps(config).encode())
    await process.stdin.drain()
    process.stdin.close()
    return process


async def _result(process: asyncio.subprocess.Process, role: str, log: Path) -> dict[str, Any]:
    assert process.stdout is not None
    out = await process.stdout.read()
    code = await process.wait()
    lines = out.decode("utf-8", errors="replace").strip().splitlines()
    if code != 0 or not lines:
        raise WorkerFailed(f"the {role} exited with {code}; see {log}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


async def _wait_for_durable(ctx: BenchContext, stream: str, durable: str,
                            consumer: asyncio.subprocess.Process) -> None:
    nc = await nats.connect(ctx.env.nats_url, connect_timeout=2, max_reconnect_attempts=1)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + 60
        while True:
            try:
                await js.consumer_info(stream, durable)
                return
            except NotFoundError:
                pass
            if consumer.returncode is not None:
                raise WorkerFailed("the consumer exited before it subscribed")
            if time.monotonic() > deadline:
                raise WorkerFailed("the consumer did not subscribe within 60 s")
            await asyncio.sleep(0.05)
    finally:
        await nc.close()


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()


async def run(ctx: BenchContext) -> Result:
    env, options = ctx.env, ctx.options
    producer_url = await env.schema_url(PRODUCER_SCHEMA)
    consumer_url = await env.schema_url(CONSUMER_SCHEMA)
    producer_messaging, samples = producer_tables()
    consumer_messaging, effects = consumer_tables()
    await _create(producer_url, samples.metadata)
    await _create(consumer_url, effects.metadata)
    del producer_messaging, consumer_messaging

    settings = env.messaging_settings(schema=PRODUCER_SCHEMA, database_url=producer_url)
    nc = await nats.connect(env.nats_url, connect_timeout=2, max_reconnect_attempts=1)
    try:
        await ensure_stream(nc.jetstream(), settings, PRODUCER)
    finally:
        await nc.close()

    total = round(RATE * (options.warmup_s + options.duration_s))
    warmup = round(RATE * options.warmup_s)
    common = {"nats_url": env.nats_url, "namespace": env.namespace}
    consumer_log = env.log_path("event-latency-consumer")
    producer_log = env.log_path("event-latency-producer")
    consumer = await _spawn("consumer", common | {
        "service_name": "bench-consumer", "database_url": consumer_url,
        "schema": CONSUMER_SCHEMA, "expected": total,
        "timeout_s": options.warmup_s + options.duration_s + 60,
    }, consumer_log)
    producer: asyncio.subprocess.Process | None = None
    try:
        await _wait_for_durable(ctx, settings.stream_name(PRODUCER),
                                durable_name(settings, CONSUMER), consumer)
        producer = await _spawn("producer", common | {
            "service_name": "bench-producer", "database_url": producer_url,
            "schema": PRODUCER_SCHEMA, "rate": RATE, "warmup_s": options.warmup_s,
            "duration_s": options.duration_s, "drain_timeout_s": 60,
        }, producer_log)
        produced = await _result(producer, "producer", producer_log)
        consumed = await _result(consumer, "consumer", consumer_log)
    finally:
        _kill(consumer)
        if producer is not None:
            _kill(producer)

    committed: dict[str, list[int]] = produced["stamps"]
    applied: dict[str, int] = consumed["stamps"]
    latencies: list[float] = []
    by_second: dict[int, list[float]] = {}
    lost = 0
    for event_id, (seq, source_ns) in committed.items():
        if seq < warmup:
            continue
        effect_ns = applied.get(event_id)
        if effect_ns is None:
            lost += 1
        else:
            latency = (effect_ns - source_ns) / 1e9
            latencies.append(latency)
            by_second.setdefault(int((seq - warmup) // RATE), []).append(latency)
    stats = LatencyStats.from_seconds(latencies)
    # A latency that grows second by second is a backlog: the consumer (or relay) fell behind.
    trend = {second: round(s.p50_ms, 2) for second, values in sorted(by_second.items())
             if (s := LatencyStats.from_seconds(values)) is not None}
    measured = sum(1 for seq, _ in committed.values() if seq >= warmup)
    details = {
        "rate_target_per_s": RATE,
        "events_sent": produced["total"],
        "events_committed": len(committed),
        "events_measured": measured,
        "warmup_events": warmup,
        "producer_elapsed_s": round(produced["elapsed_s"], 3),
        "late_starts": produced["late_starts"],
        "relay_published": produced["published"],
        "relay_failures": produced["relay_failures"],
        "consumer": {k: v for k, v in consumed.items() if k != "stamps"},
        "latency": stats.to_json() if stats else None,
        "p50_ms_by_second_of_schedule": trend,
        "how": "wall clock (time.time_ns) stamped right after each commit, producer and "
               "consumer in separate processes on one machine",
    }
    figures = [equal("events lost", float(lost), "", 0),
               equal("events measured", float(len(latencies)), "", float(total - warmup))]
    if stats is not None:
        figures[:0] = [
            below("p50", stats.p50_ms, "ms", P50_TARGET_MS),
            info("p95", stats.p95_ms, "ms"),
            below("p99", stats.p99_ms, "ms", P99_TARGET_MS),
            info("max", stats.max_ms, "ms"),
            # Latency means little if the producer could not keep the rate (a busy machine).
            at_least("rate achieved", len(committed) / produced["elapsed_s"], "events/s",
                     RATE_FLOOR * RATE, why="the premise: a steady 200/s"),
        ]
    return Result.measured(NAME, TITLE, figures, details)


SCENARIO = Scenario(NAME, TITLE, run)
