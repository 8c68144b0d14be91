"""Dead letters of every consumer, from JetStream's advisories.

When a consumer gives up on a message, JetStream announces it:

* ``$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.<stream>.<consumer>`` when the consumer
  terminates it (``+TERM``): what the platform's ``ConsumerRunner`` does after recording the
  dead letter in its own service's ``dead_letters`` table;
* ``$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>`` when JetStream itself
  stops redelivering (consumers with a server-side ``max_deliver``).

Advisories are plain NATS messages, lost if nobody listens, so the service captures those of
the producers' streams in a stream of its own (``LFI_ADVISORIES``) and reads it with a
durable consumer: one dead-letter row per (stream, consumer, stream sequence), even across
restarts of this service. The original message's subject and envelope attributes (id, type,
subject; never its data) are looked up in its stream by sequence.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from lfi_events.db.models import consumer_dead_letters
from lfi_events.messaging.pull_loop import DurablePullLoop
from lfi_events.settings import Settings
from lfi_shared.db import Database
from lfi_shared.messaging import Envelope, InvalidEnvelopeError, durable_name

log = structlog.get_logger("lfi.events.dead_letters")

ADVISORY_KINDS = {
    "io.nats.jetstream.advisory.v1.terminated": "terminated",
    "io.nats.jetstream.advisory.v1.max_deliver": "max_deliveries",
}


def advisory_stream_config(settings: Settings) -> StreamConfig:
    """The stream capturing the dead-letter advisories of every producer's stream."""
    subjects = []
    for producer in (*settings.producers, "replays"):
        stream = settings.stream_name(producer)
        subjects += [f"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{stream}.*",
                     f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.*"]
    return StreamConfig(
        name=settings.stream_name("advisories"),
        description="Dead-letter advisories of the platform's consumers (events service)",
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        storage=StorageType.FILE,
        num_replicas=settings.nats_stream_replicas,
        max_age=settings.advisories_max_age_s,
    )


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)


class AdvisoryRecorder:
    """Records every dead-letter advisory as a row of ``consumer_dead_letters``."""

    def __init__(self, *, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.loop = DurablePullLoop(
            name="events-advisories", nats_url=settings.nats_url,
            stream=advisory_stream_config(settings),
            durable=durable_name(settings, "events-dead-letters"),
            handle=self.record, fetch_timeout_s=settings.advisories_fetch_timeout_s,
        )

    async def start(self) -> None:
        await self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()

    async def record(self, js: JetStreamContext, msg: Msg) -> None:
        """Record one advisory (idempotent: a redelivered advisory adds nothing)."""
        advisory = json.loads(msg.data)
        kind = ADVISORY_KINDS.get(advisory.get("type", ""))
        if kind is None:
            return
        stream = str(advisory["stream"])
        sequence = int(advisory["stream_seq"])
        values: dict[str, Any] = {
            "id": uuid.uuid4(),
            "advisory_id": str(advisory.get("id") or f"{stream}/{sequence}/{kind}"),
            "kind": kind,
            "stream": stream,
            "consumer": str(advisory["consumer"]),
            "stream_sequence": sequence,
            "deliveries": advisory.get("deliveries"),
            "error": advisory.get("reason") or None,
            "occurred_at": _timestamp(advisory.get("timestamp")),
            "recorded_at": func.now(),
        }
        values.update(await self._original(js, stream, sequence))
        async with self.database.transaction() as session:
            await session.execute(insert(consumer_dead_letters).values(**values)
                                  .on_conflict_do_nothing())
        log.warning("consumer_dead_letter_seen", stream=stream, consumer=values["consumer"],
                    stream_sequence=sequence, event_id=str(values.get("event_id")))

    async def _original(self, js: JetStreamContext, stream: str, sequence: int) -> dict[str, Any]:
        try:
            original = await js.get_msg(stream, sequence)
        except Exception as exc:  # gone (stream limits) or NATS hiccup: record what we know
            log.info("dead_letter_original_unavailable", stream=stream, sequence=sequence,
                     error=type(exc).__name__)
            return {}
        found: dict[str, Any] = {"nats_subject": original.subject}
        try:
            envelope = Envelope.from_bytes(original.data or b"")
        except InvalidEnvelopeError:
            return found
        return {**found, "event_id": envelope.event_id, "event_type": envelope.type,
                "event_subject": envelope.subject}
