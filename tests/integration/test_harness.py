"""The harness itself: a real HA core finds and loads PowerStats."""

from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
from homeassistant.setup import async_setup_component

from custom_components.powerstats.const import DOMAIN


async def test_home_assistant_loads_the_integration_from_custom_components(
    hass: HomeAssistant,
) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.is_built_in is False
    assert integration.config_flow is True
    assert await async_setup_component(hass, DOMAIN, {})
