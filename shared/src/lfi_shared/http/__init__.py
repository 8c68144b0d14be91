"""HTTP conventions shared by every service: problems, pagination, concurrency, idempotency."""
