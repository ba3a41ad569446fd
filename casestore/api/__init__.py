"""HTTP API of the case store."""
