"""The harness: a real HA core loads PowerStats, and the log check sees deprecations."""

import logging

from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
from homeassistant.setup import async_setup_component

from custom_components.powerstats.const import DOMAIN

from .conftest import deprecation_warnings


async def test_home_assistant_loads_the_integration_from_custom_components(
    hass: HomeAssistant,
) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.is_built_in is False
    assert integration.config_flow is True
    assert await async_setup_component(hass, DOMAIN, {})


def record(name: str, level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_the_deprecation_check_catches_what_ha_announces_and_nothing_else() -> None:
    announced = (
        "Detected that custom integration 'powerstats' has an update listener and should use "
        "it for scheduling a reload. This will stop working in Home Assistant 2026.12.0"
    )
    records = [
        record("homeassistant.helpers.frame", logging.WARNING, announced),
        record("custom_components.powerstats", logging.WARNING, "x is deprecated, use y"),
        record("custom_components.powerstats", logging.INFO, "x is deprecated, use y"),
        record("homeassistant.helpers.frame", logging.WARNING, "other_integration is deprecated"),
        record("custom_components.powerstats", logging.WARNING, "Publishing failed"),
    ]
    assert deprecation_warnings(records) == [announced, "x is deprecated, use y"]
