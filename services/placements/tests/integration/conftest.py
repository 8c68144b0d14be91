"""Fixtures of the placements integration tests (defined in placements_harness.py)."""

from placements_harness import harness

__all__ = ["harness"]
