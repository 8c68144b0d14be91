"""Local First Inclusion events service."""
