"""Tables of the placements service, in its own schema."""
