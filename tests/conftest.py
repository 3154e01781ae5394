"""Shared test setup for every part of PowerStats."""

# pytest-homeassistant-custom-component puts its own `custom_components` package on the path
# when the `hass` fixture starts; importing ours first keeps it the one HA finds.
import custom_components.powerstats  # noqa: F401
