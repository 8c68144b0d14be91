"""Domain layer of the funding service."""
