"""Logs, request and trace ids, metrics and health for every service."""
