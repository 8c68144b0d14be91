"""Messaging layer of the events service."""
