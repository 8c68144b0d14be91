"""Tables of the referrals service, in its own schema."""
