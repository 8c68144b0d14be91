"""NATS test fixtures (a NATS server process a test starts and stops itself)."""
