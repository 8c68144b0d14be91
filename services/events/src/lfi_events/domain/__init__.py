"""Domain layer of the events service."""
