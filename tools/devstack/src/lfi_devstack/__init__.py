"""Local development stack for the Local First Inclusion platform."""
