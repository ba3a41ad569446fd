"""Console accounts and sign-in sessions (app env)."""
