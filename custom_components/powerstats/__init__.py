"""PowerStats: exact, durable, publishable electricity history. Setup and unload only."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.typing import ConfigType

from .backfill import async_remove_backfill_marker, async_setup_backfill
from .const import CONF_BACKFILL, DOMAIN
from .hub import async_get_hub, async_release_hub
from .publish_setup import (
    async_remove_publisher,
    async_setup_publisher,
    async_unload_publisher,
)
from .runtime import PowerStatsConfigEntry, PowerStatsMeter
from .services import async_setup_services

# Platforms of a meter; a platform added later only needs its module and a line here.
PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions (once, whether or not a meter is set up)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> bool:
    """Set up one meter: load its history, follow its sensor, list its files."""
    hub = await async_get_hub(hass)
    meter = PowerStatsMeter(hass, entry, hub)
    await meter.async_start()
    entry.runtime_data = meter
    await hub.async_add_meter(meter)
    await async_setup_publisher(hass, entry, hub)
    async_setup_backfill(hass, meter, entry.options.get(CONF_BACKFILL, True))
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_update_listener(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> None:
    """Options changed: start over with the new settings (the history is in the store)."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> bool:
    """Unload one meter; saves everything up to now."""
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        return False
    await async_unload_publisher(hass, entry)
    meter = entry.runtime_data
    await meter.async_stop()
    await async_release_hub(hass, meter)
    return True


async def async_remove_entry(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> None:
    """The meter was deleted: drop its store and repair issue (its files stay on disk)."""
    from .store import MeterStore

    await MeterStore(hass, entry.entry_id).async_remove()
    await async_remove_publisher(hass, entry.entry_id)
    await async_remove_backfill_marker(hass, entry.entry_id)
    ir.async_delete_issue(hass, DOMAIN, f"store_recovered_{DOMAIN}.{entry.entry_id}")
