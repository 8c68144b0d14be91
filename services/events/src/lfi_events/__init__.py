"""Local First Inclusion events service."""

__version__ = "0.1.0"
