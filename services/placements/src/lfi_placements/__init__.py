"""Local First Inclusion placements service."""
