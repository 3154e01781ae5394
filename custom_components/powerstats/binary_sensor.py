"""The Publish problem sensor: on while publishing to GitHub fails, with the reason."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .entity import DatasetEntity, async_remove_unprovided
from .runtime import PowerStatsConfigEntry

PARALLEL_UPDATES = 0

PUBLISH_PROBLEM = BinarySensorEntityDescription(
    key="publish_problem",
    translation_key="publish_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerStatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Publish problem sensor when publishing is set up."""
    added = (
        [PublishProblemSensor(entry, PUBLISH_PROBLEM)]
        if entry.runtime_data.publisher.enabled
        else []
    )
    async_add_entities(added)
    async_remove_unprovided(hass, entry, Platform.BINARY_SENSOR, {None: added})


class PublishProblemSensor(DatasetEntity, BinarySensorEntity):
    """On while the last publish failed; `reason` says why, `retry_at` when it tries again."""

    @property
    def is_on(self) -> bool:
        return self.publisher.state.problem is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        state = self.publisher.state
        retry_at = state.retry_at
        return {
            "reason": state.problem,
            "retry_at": None if retry_at is None else dt_util.utc_from_timestamp(retry_at),
            "pending": state.pending,
        }
