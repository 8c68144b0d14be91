"""Local First Inclusion gateway service."""
