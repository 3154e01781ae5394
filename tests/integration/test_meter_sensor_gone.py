"""A meter whose sensor was removed from Home Assistant: a repair issue says so until the
sensor comes back or the meter is changed or removed; a sensor not there yet at a start is
no removal."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir

from custom_components.powerstats.const import DOMAIN, sensor_removed_issue_id
from custom_components.powerstats.meter import PowerStatsMeter

from .conftest import HOUSE, SOURCE, Clock, at, make_entry, meter_of, meter_subentry

W = {"unit_of_measurement": "W"}


async def start_meter(hass: HomeAssistant, **kwargs: Any) -> PowerStatsMeter:
    entry = make_entry(**kwargs)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return meter_of(entry)


def sensor_issue(hass: HomeAssistant, subentry_id: str = HOUSE) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, sensor_removed_issue_id(subentry_id))


def register_source(entity_registry: er.EntityRegistry) -> None:
    """The House meter's sensor, as an integration registers it (`sensor.house_power`)."""
    entry = entity_registry.async_get_or_create(
        "sensor", "demo", "meter-1", suggested_object_id="house_power"
    )
    assert entry.entity_id == SOURCE


async def remove_source(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> None:
    """The sensor is deleted from HA: its registry entry, then (as its platform does) its state."""
    entity_registry.async_remove(SOURCE)
    hass.states.async_remove(SOURCE)
    await hass.async_block_till_done()


async def measuring_a_registered_sensor(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entity_registry: er.EntityRegistry
) -> PowerStatsMeter:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    register_source(entity_registry)
    hass.states.async_set(SOURCE, "600", W)
    return await start_meter(hass)


async def test_a_sensor_removed_from_the_entity_registry_raises_an_issue_naming_meter_and_sensor(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, entity_registry: er.EntityRegistry
) -> None:
    await measuring_a_registered_sensor(ha, freezer, entity_registry)
    assert sensor_issue(ha) is None

    await remove_source(ha, entity_registry)

    issue = sensor_issue(ha)
    assert issue is not None
    assert issue.translation_key == "sensor_removed"
    assert issue.translation_placeholders == {"meter": "House", "sensor": SOURCE}
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable
    # A restart could not raise it again (a sensor missing at a start is not yet set up).
    assert issue.is_persistent


async def test_the_issue_goes_when_the_sensor_is_added_again_under_its_entity_id(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    entity_registry: er.EntityRegistry,
) -> None:
    meter = await measuring_a_registered_sensor(ha, freezer, entity_registry)
    await remove_source(ha, entity_registry)
    assert sensor_issue(ha) is not None

    register_source(entity_registry)
    await ha.async_block_till_done()
    assert sensor_issue(ha) is None
    freezer.move_to(at(2026, 11, 26, 12, 5))
    ha.states.async_set(SOURCE, "1200", W)
    await move_to(at(2026, 11, 26, 12, 10))
    assert meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())].covered == 300


async def test_a_sensor_not_there_yet_at_a_start_raises_no_issue(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    # HA starts the sensor's integration after PowerStats: neither its state nor (outside the
    # registry) its entity exist yet, for as long as that integration takes.
    freezer.move_to(at(2026, 11, 26, 12, 0))
    meter = await start_meter(ha)
    await move_to(at(2026, 11, 26, 12, 10))
    await move_to(at(2026, 11, 26, 12, 20))
    assert sensor_issue(ha) is None
    ha.states.async_set(SOURCE, "600", W)
    await move_to(at(2026, 11, 26, 12, 30))
    assert sensor_issue(ha) is None
    assert meter.history.ten_minutes[int(at(2026, 11, 26, 12, 20).timestamp())].covered == 600


async def test_a_sensor_outside_the_registry_whose_state_is_removed_raises_it_at_the_next_boundary(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "600", W)  # a sensor with no unique id: not in the registry
    await start_meter(ha)

    ha.states.async_remove(SOURCE)
    await ha.async_block_till_done()
    assert sensor_issue(ha) is None  # it may only be its integration reloading
    await move_to(at(2026, 11, 26, 12, 10))
    issue = sensor_issue(ha)
    assert issue is not None
    assert issue.translation_placeholders == {"meter": "House", "sensor": SOURCE}

    ha.states.async_set(SOURCE, "600", W)
    await ha.async_block_till_done()
    assert sensor_issue(ha) is None


async def test_a_sensor_outside_the_registry_reloaded_before_the_boundary_raises_no_issue(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "600", W)
    await start_meter(ha)

    # Its integration reloads: the state is removed and set again.
    ha.states.async_remove(SOURCE)
    await ha.async_block_till_done()
    ha.states.async_set(SOURCE, "600", W)
    await move_to(at(2026, 11, 26, 12, 10))
    assert sensor_issue(ha) is None


async def test_the_issue_goes_when_the_meter_is_changed_to_another_sensor(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, entity_registry: er.EntityRegistry
) -> None:
    meter = await measuring_a_registered_sensor(ha, freezer, entity_registry)
    await remove_source(ha, entity_registry)
    assert sensor_issue(ha) is not None

    ha.states.async_set("sensor.mains_power", "600", W)
    subentry = meter.entry.subentries[HOUSE]
    ha.config_entries.async_update_subentry(
        meter.entry, subentry, data={**subentry.data, "entity_id": "sensor.mains_power"}
    )
    await ha.async_block_till_done()

    assert meter_of(meter.entry).config.entity_id == "sensor.mains_power"
    assert sensor_issue(ha) is None


async def test_the_issue_stays_over_a_restart_while_the_sensor_is_still_gone_named_anew(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, entity_registry: er.EntityRegistry
) -> None:
    meter = await measuring_a_registered_sensor(ha, freezer, entity_registry)
    await remove_source(ha, entity_registry)

    # Renamed only: the meter starts again measuring the same sensor, still gone.
    subentry = meter.entry.subentries[HOUSE]
    ha.config_entries.async_update_subentry(
        meter.entry, subentry, data={**subentry.data, "name": "Home"}
    )
    await ha.async_block_till_done()

    issue = sensor_issue(ha)
    assert issue is not None
    assert issue.translation_placeholders == {"meter": "Home", "sensor": SOURCE}


async def test_the_issue_goes_at_a_start_that_finds_the_sensor_back(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, entity_registry: er.EntityRegistry
) -> None:
    meter = await measuring_a_registered_sensor(ha, freezer, entity_registry)
    await remove_source(ha, entity_registry)
    assert sensor_issue(ha) is not None
    assert await ha.config_entries.async_unload(meter.entry.entry_id)

    # Added again while PowerStats was not running (no event of it reaches the meter).
    register_source(entity_registry)
    assert await ha.config_entries.async_setup(meter.entry.entry_id)
    await ha.async_block_till_done()
    assert sensor_issue(ha) is None


async def test_the_issue_goes_with_its_meter(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, entity_registry: er.EntityRegistry
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    register_source(entity_registry)
    ha.states.async_set(SOURCE, "600", W)
    ha.states.async_set("sensor.solar", "-300", W)
    meter = await start_meter(
        ha, meters=[meter_subentry(), meter_subentry("sensor.solar", "Solar", "solar")]
    )
    await remove_source(ha, entity_registry)
    assert sensor_issue(ha) is not None

    ha.config_entries.async_remove_subentry(meter.entry, HOUSE)
    await ha.async_block_till_done()
    assert sensor_issue(ha) is None


async def test_the_issue_goes_with_powerstats(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, entity_registry: er.EntityRegistry
) -> None:
    meter = await measuring_a_registered_sensor(ha, freezer, entity_registry)
    await remove_source(ha, entity_registry)
    assert sensor_issue(ha) is not None

    assert await ha.config_entries.async_remove(meter.entry.entry_id)
    await ha.async_block_till_done()
    assert sensor_issue(ha) is None
