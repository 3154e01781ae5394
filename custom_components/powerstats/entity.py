"""The base entities: a meter's (one device per meter) and the dataset's (the PowerStats device)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN, TITLE
from .meter import PowerStatsMeter
from .publisher import Publisher
from .runtime import PowerStatsConfigEntry


class PowerStatsEntity(Entity):
    """Named by translation key, pushed (never polled)."""

    _attr_has_entity_name = True
    _attr_should_poll = False


class MeterEntity(PowerStatsEntity):
    """An entity of one meter, refreshed when the meter's totals change."""

    def __init__(self, meter: PowerStatsMeter, description: EntityDescription) -> None:
        self.meter = meter
        self.entity_description = description
        self._attr_unique_id = f"{meter.subentry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, meter.subentry_id)},
            name=meter.config.name,
            manufacturer=TITLE,
            model=f"{meter.config.kind.value.capitalize()} meter",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the meter's totals."""
        await super().async_added_to_hass()
        self.async_on_remove(self.meter.async_add_listener(self._async_totals_changed))

    @callback
    def _async_totals_changed(self) -> None:
        self.async_write_ha_state()


class DatasetEntity(PowerStatsEntity):
    """An entity of the whole dataset (publishing, maintenance) on the PowerStats device."""

    def __init__(self, entry: PowerStatsConfigEntry, description: EntityDescription) -> None:
        self.publisher: Publisher = entry.runtime_data.publisher
        self.entity_description = description
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=TITLE,
            manufacturer=TITLE,
            model="Dataset",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the publisher's state."""
        await super().async_added_to_hass()
        self.async_on_remove(self.publisher.async_add_listener(self.async_write_ha_state))


@callback
def async_remove_unprovided(
    hass: HomeAssistant,
    entry: PowerStatsConfigEntry,
    domain: str,
    provided: Mapping[str | None, Iterable[Entity]],
) -> None:
    """Remove the entry's `domain` entities that are no longer provided (a price or publishing
    turned off), so none lingers as "no longer provided".

    `provided` maps a meter's subentry id (None: the dataset) to the entities it provides;
    owners it does not name are left alone.
    """
    registry = er.async_get(hass)
    unique_ids = {owner: {e.unique_id for e in entities} for owner, entities in provided.items()}
    for listed in er.async_entries_for_config_entry(registry, entry.entry_id):
        kept = unique_ids.get(listed.config_subentry_id)
        if listed.domain == domain and kept is not None and listed.unique_id not in kept:
            registry.async_remove(listed.entity_id)
