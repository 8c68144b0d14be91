"""Tables of the events service, in its own schema."""
