"""Messaging layer of the placements service."""
