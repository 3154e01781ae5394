"""The publishing entities' base (same device as the meter), and the Last publish sensor."""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.util import dt as dt_util

from .entity import PowerStatsEntity
from .publisher import Publisher, publisher_of
from .runtime import PowerStatsConfigEntry, PowerStatsMeter


class PublishEntity(PowerStatsEntity):
    """An entity of a meter's publisher: refreshed when the publisher's state changes."""

    def __init__(
        self, meter: PowerStatsMeter, publisher: Publisher, description: EntityDescription
    ) -> None:
        super().__init__(meter, description)
        self.publisher = publisher

    async def async_added_to_hass(self) -> None:
        """Follow the publisher, not the meter's totals (which change far more often)."""
        await Entity.async_added_to_hass(self)
        self.async_on_remove(self.publisher.async_add_listener(self.async_write_ha_state))


LAST_PUBLISH = SensorEntityDescription(
    key="last_publish",
    translation_key="last_publish",
    device_class=SensorDeviceClass.TIMESTAMP,
    entity_category=EntityCategory.DIAGNOSTIC,
)


class LastPublishSensor(PublishEntity, SensorEntity):
    """When the repository last held everything (the last successful publish)."""

    @property
    def native_value(self) -> datetime | None:
        last = self.publisher.state.last_publish
        return None if last is None else dt_util.utc_from_timestamp(last)


def publish_sensors(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> list[SensorEntity]:
    """The publishing sensors of an entry (none when publishing is not set up)."""
    publisher = publisher_of(hass, entry)
    if publisher is None or not publisher.enabled:
        return []
    return [LastPublishSensor(entry.runtime_data, publisher, LAST_PUBLISH)]
