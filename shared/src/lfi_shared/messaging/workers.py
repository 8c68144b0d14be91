"""What a service runs beside its API: one outbox relay and a consumer per subscription.

A service declares its subscriptions as data and passes :func:`messaging_workers` to
:func:`lfi_shared.app.create_service_app` as ``workers``; the relay and consumers then start
after the database and stop before it, and their counters appear on ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lfi_shared.app import ServiceRuntime, Worker, WorkerFactory
from lfi_shared.messaging.consumer import ConsumerRunner, Handler
from lfi_shared.messaging.metrics import register_messaging_metrics
from lfi_shared.messaging.relay import OutboxRelay
from lfi_shared.messaging.tables import MessagingTables


@dataclass(frozen=True)
class Subscription:
    """A durable consumer of one producer's stream.

    ``name`` names the durable (unique per service); ``handlers`` maps event types to the
    handler that applies them in the consumer's transaction.
    """

    name: str
    producer: str
    handlers: Mapping[str, Handler]
    event_filter: str | Sequence[str] | None = None
    options: Mapping[str, float | int] = field(default_factory=dict)


def messaging_workers(
    *,
    tables: MessagingTables,
    producer: str | None,
    subscriptions: Sequence[Subscription] = (),
) -> WorkerFactory:
    """A worker factory: the relay of ``producer``'s outbox (if it publishes) and consumers."""

    async def build(runtime: ServiceRuntime) -> Sequence[Worker]:
        if runtime.database is None:
            raise RuntimeError("messaging workers need the service's database")
        settings = runtime.settings
        relays: list[OutboxRelay] = []
        if producer is not None:
            relays.append(OutboxRelay(database=runtime.database, tables=tables,
                                      settings=settings, producer=producer))
        consumers = [
            ConsumerRunner(
                name=sub.name, database=runtime.database, tables=tables, settings=settings,
                producer=sub.producer, event_filter=sub.event_filter,
                handlers=dict(sub.handlers), **sub.options,  # type: ignore[arg-type]
            )
            for sub in subscriptions
        ]
        register_messaging_metrics(runtime.registry, relays, consumers)
        runtime.extras["relays"] = relays
        runtime.extras["consumers"] = consumers
        return [*relays, *consumers]

    return build
