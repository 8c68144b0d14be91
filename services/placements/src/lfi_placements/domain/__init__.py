"""Domain layer of the placements service."""
