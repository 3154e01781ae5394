"""The base entity of PowerStats: one device per meter, refreshed when its totals change."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN
from .runtime import PowerStatsMeter


class PowerStatsEntity(Entity):
    """An entity of one meter."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, meter: PowerStatsMeter, description: EntityDescription) -> None:
        self.meter = meter
        self.entity_description = description
        entry_id = meter.entry.entry_id
        self._attr_unique_id = f"{entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry_id)},
            name=meter.config.name,
            manufacturer="PowerStats",
            model=f"{meter.config.kind.value.capitalize()} meter",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the meter's totals."""
        await super().async_added_to_hass()
        self.async_on_remove(self.meter.async_add_listener(self.async_write_ha_state))
