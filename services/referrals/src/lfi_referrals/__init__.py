"""Local First Inclusion referrals service."""
