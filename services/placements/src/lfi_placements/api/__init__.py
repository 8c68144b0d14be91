"""Api layer of the placements service."""
