"""A simulated household power meter for the live demo (scripts/develop); not shipped."""
