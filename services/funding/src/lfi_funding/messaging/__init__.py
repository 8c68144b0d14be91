"""Messaging layer of the funding service."""
