"""Test fixtures shared by every service's tests: a throw-away database, NATS namespaces."""
