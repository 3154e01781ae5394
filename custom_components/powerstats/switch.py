"""The Maintenance switch: while on, nothing is published and the manifest says so."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import DatasetEntity
from .runtime import PowerStatsConfigEntry

PARALLEL_UPDATES = 0

MAINTENANCE = SwitchEntityDescription(
    key="maintenance",
    translation_key="maintenance",
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerStatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Maintenance switch (it also holds the local manifest's banner)."""
    async_add_entities([MaintenanceSwitch(entry, MAINTENANCE)])


class MaintenanceSwitch(DatasetEntity, SwitchEntity):
    """Holds publishing; its state is kept by the publisher's store across restarts."""

    @property
    def is_on(self) -> bool:
        return self.publisher.state.maintenance

    async def async_turn_on(self, **kwargs: Any) -> None:
        await self.publisher.async_set_maintenance(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        await self.publisher.async_set_maintenance(False)
