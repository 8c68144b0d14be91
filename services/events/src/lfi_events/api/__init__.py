"""Api layer of the events service."""
