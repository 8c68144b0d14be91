"""Api layer of the referrals service."""
