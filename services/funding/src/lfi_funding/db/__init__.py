"""Tables of the funding service, in its own schema."""
