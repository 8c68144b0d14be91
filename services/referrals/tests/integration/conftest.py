"""Fixtures of the referrals integration tests (defined in referrals_harness)."""

from referrals_harness import env, make_env, tokens  # noqa: F401
