"""Local First Inclusion shared library: the mechanisms every service stands on."""
