"""Local First Inclusion funding service."""
