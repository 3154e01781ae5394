"""Tests of the functional core (custom_components/powerstats/core/)."""
