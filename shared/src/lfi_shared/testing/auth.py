"""Auth test fixtures (a local signing key, a token factory)."""
