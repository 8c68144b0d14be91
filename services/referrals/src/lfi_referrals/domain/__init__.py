"""Domain layer of the referrals service."""
