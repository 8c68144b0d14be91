"""Use cases of the placements service: load → domain → persist → outbox. Flush, never commit."""
