"""The store's durable consumers: every type of every producer's stream, each event once.

A :class:`StoreConsumer` is the shared :class:`ConsumerRunner` (inbox first, one transaction
per message, ack after commit, dead letter after ``max_deliver``) with two additions:

* a catch-all: the runner skips types without a handler, so the store registers its handler
  for every type it meets, including types newer than this build's contracts (which the
  ingest then refuses and reports as unknown rather than silently skipping);
* the message's stream and stream sequence, which the runner does not pass to handlers, are
  handed to the store's handler through a context variable.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncSession

from lfi_events.domain.privacy import PersonalDataPolicy
from lfi_events.service import MessageOrigin, ingest_event
from lfi_shared.messaging import (
    ConsumerRunner,
    Envelope,
    EventCatalogue,
    InvalidEnvelopeError,
    Outcome,
)

_origin: ContextVar[MessageOrigin | None] = ContextVar("lfi_events_message_origin",
                                                       default=None)


class StoreConsumer(ConsumerRunner):
    """A durable consumer of one producer's stream writing every event to the store."""

    def __init__(self, *, catalogue: EventCatalogue, policy: PersonalDataPolicy,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.catalogue = catalogue
        self.policy = policy
        self._handled: set[str] = set()
        for event_type in catalogue.event_types(producer=self.producer):
            self._handle(event_type)

    def _handle(self, event_type: str) -> None:
        if event_type not in self._handled:
            self.register(event_type, self.store)
            self._handled.add(event_type)

    async def process(self, msg: Msg) -> Outcome:
        """Process one message with the store's handler, whatever its type."""
        try:
            self._handle(Envelope.from_bytes(msg.data).type)
        except InvalidEnvelopeError:
            pass  # the runner dead-letters it
        meta = msg.metadata
        token = _origin.set(MessageOrigin(stream=meta.stream, stream_sequence=meta.sequence.stream))
        try:
            return await super().process(msg)
        finally:
            _origin.reset(token)

    async def store(self, session: AsyncSession, envelope: Envelope) -> None:
        """The handler: ingest the event in the consumer's transaction."""
        origin = _origin.get()
        if origin is None:  # only ever called from process()
            raise RuntimeError("store handler called outside StoreConsumer.process")
        await ingest_event(session, envelope, origin, catalogue=self.catalogue,
                           policy=self.policy)
