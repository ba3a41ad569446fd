"""Staff and admin web UI, and the residents' web chat page."""
