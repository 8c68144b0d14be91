"""Prometheus series for a service's relay and consumers, read from their counters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from lfi_shared.messaging.consumer import ConsumerRunner
from lfi_shared.messaging.relay import OutboxRelay


class MessagingCollector(Collector):
    """``lfi_outbox_*`` and ``lfi_consumer_*`` counters of one service process."""

    def __init__(self, relays: Sequence[OutboxRelay], consumers: Sequence[ConsumerRunner]) -> None:
        self.relays = list(relays)
        self.consumers = list(consumers)

    def collect(self) -> Iterable[CounterMetricFamily]:
        relay_fields = ("published", "duplicates", "failures", "pruned")
        for field in relay_fields:
            family = CounterMetricFamily(
                f"lfi_outbox_{field}", f"Outbox relay: events {field}.", labels=["producer"]
            )
            for relay in self.relays:
                family.add_metric([relay.producer], getattr(relay.stats, field))
            yield family
        consumer_fields = ("processed", "duplicates", "skipped", "retried", "dead_lettered",
                           "failures")
        for field in consumer_fields:
            family = CounterMetricFamily(
                f"lfi_consumer_{field}", f"Event consumer: messages {field}.", labels=["consumer"]
            )
            for consumer in self.consumers:
                family.add_metric([consumer.name], getattr(consumer.stats, field))
            yield family


def register_messaging_metrics(registry: CollectorRegistry, relays: Sequence[OutboxRelay],
                               consumers: Sequence[ConsumerRunner]) -> None:
    registry.register(MessagingCollector(relays, consumers))
