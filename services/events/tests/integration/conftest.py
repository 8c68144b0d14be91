"""Fixtures of the events service's integration tests (see events_testkit)."""

from events_testkit import events, events_namespace, producer

__all__ = ["events", "events_namespace", "producer"]
