"""The publishing entities of the dataset (its PowerStats device): registry entries and states."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.syrupy import (  # type: ignore[import-untyped]
    HomeAssistantSnapshotExtension,
)
from syrupy.assertion import SnapshotAssertion

from tests.fake_github import FakeGitHub

from .conftest import at
from .publish_support import fake, no_write_pause, start_publishing_meter

__all__ = ["fake", "no_write_pause"]  # fixtures used by name below

ENTRY_ID = "01JPOWERSTATSPUBLISH00000000"
PUBLISHING_KEYS = ("last_publish", "maintenance", "publish_now", "publish_problem")


async def test_the_publishing_entities_after_a_first_publish(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake: FakeGitHub,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    snapshot = snapshot.use_extension(HomeAssistantSnapshotExtension)
    freezer.move_to(at(2026, 11, 26, 12, 0))
    await start_publishing_meter(ha, fake, entry_id=ENTRY_ID)

    keys = {f"{ENTRY_ID}_{key}" for key in PUBLISHING_KEYS}
    entries = sorted(
        (
            e
            for e in er.async_entries_for_config_entry(entity_registry, ENTRY_ID)
            if e.unique_id in keys
        ),
        key=lambda e: e.entity_id,
    )
    assert len(entries) == len(PUBLISHING_KEYS)
    for entity_entry in entries:
        described = {
            "entity_id": entity_entry.entity_id,
            "unique_id": entity_entry.unique_id,
            "translation_key": entity_entry.translation_key,
            "original_device_class": entity_entry.original_device_class,
            "entity_category": entity_entry.entity_category,
            "has_entity_name": entity_entry.has_entity_name,
            "original_name": entity_entry.original_name,
        }
        assert described == snapshot(name=f"{entity_entry.entity_id}-entry")
        state = ha.states.get(entity_entry.entity_id)
        assert state is not None
        # Plain keys and values: HA's own State repr differs between the HA versions tested.
        shown = {
            "state": state.state,
            "attributes": {str(k): str(v) for k, v in sorted(state.attributes.items())},
        }
        assert shown == snapshot(name=f"{entity_entry.entity_id}-state")
