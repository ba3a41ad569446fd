"""Business rules of the case store, as keyword-only functions taking a session."""
