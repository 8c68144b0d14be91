"""Api layer of the funding service."""
