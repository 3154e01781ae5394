"""The Publish now button of the dataset, when it publishes to GitHub."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import DatasetEntity, async_remove_unprovided
from .permissions import async_is_admin
from .runtime import PowerStatsConfigEntry

PARALLEL_UPDATES = 0

PUBLISH_NOW = ButtonEntityDescription(key="publish_now", translation_key="publish_now")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerStatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Publish now button when publishing is set up."""
    added = [PublishNowButton(entry, PUBLISH_NOW)] if entry.runtime_data.publisher.enabled else []
    async_add_entities(added)
    async_remove_unprovided(hass, entry, Platform.BUTTON, {None: added})


class PublishNowButton(DatasetEntity, ButtonEntity):
    """Publishes now, or as soon as maintenance or a backoff period ends."""

    async def async_press(self) -> None:
        # HA sets the press's context (who pressed) on the entity before calling this.
        may_replace = await async_is_admin(self.hass, self._context)
        self.publisher.async_publish_now(may_replace=may_replace)
