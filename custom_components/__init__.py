"""Custom integrations shipped by this repository (kept so tests can import them)."""
