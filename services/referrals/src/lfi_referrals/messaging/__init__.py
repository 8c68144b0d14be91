"""Messaging layer of the referrals service."""
