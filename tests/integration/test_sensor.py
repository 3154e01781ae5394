"""The sensors of a meter: one device, translated names, the day's figures (snapshots)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.syrupy import (  # type: ignore[import-untyped]
    HomeAssistantSnapshotExtension,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.powerstats.sensor import SENSORS

from .conftest import HOUSE, SOURCE, Clock, at, device_named, make_entry

W = {"unit_of_measurement": "W"}


async def run_morning(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, options: dict[str, object]
) -> str:
    """A meter that saw 400 W from midnight, a 2 kW hour at 06:00, until 08:00."""
    start = at(2026, 11, 26, 0, 0)
    freezer.move_to(start)
    hass.states.async_set(SOURCE, "400", W)
    entry = make_entry(options=options, entry_id="01JPOWERSTATSHOUSE0000000000")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    for hour in range(1, 9):
        await move_to(start + timedelta(hours=hour))
        hass.states.async_set(SOURCE, "2000" if hour == 6 else "400", W)
    entry_id: str = entry.entry_id
    return entry_id


async def test_the_sensors_of_a_priced_meter(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    snapshot = snapshot.use_extension(HomeAssistantSnapshotExtension)
    entry_id = await run_morning(ha, freezer, move_to, {"price_mode": "fixed", "price": 0.25})
    keys = {f"{HOUSE}_{d.key}" for d in SENSORS}
    entries = [
        e
        for e in er.async_entries_for_config_entry(entity_registry, entry_id)
        if e.unique_id in keys
    ]
    assert len(entries) == len(SENSORS)
    for entity_entry in sorted(entries, key=lambda e: e.entity_id):
        # The registry fields PowerStats decides; a whole RegistryEntry differs between HA versions.
        described = {
            "entity_id": entity_entry.entity_id,
            "unique_id": entity_entry.unique_id,
            "translation_key": entity_entry.translation_key,
            "original_device_class": entity_entry.original_device_class,
            "unit_of_measurement": entity_entry.unit_of_measurement,
            "entity_category": entity_entry.entity_category,
            "capabilities": {str(k): v for k, v in (entity_entry.capabilities or {}).items()},
            "options": {domain: dict(opts) for domain, opts in entity_entry.options.items()},
            "has_entity_name": entity_entry.has_entity_name,
            "original_name": entity_entry.original_name,
            "config_subentry_id": entity_entry.config_subentry_id,
        }
        assert described == snapshot(name=f"{entity_entry.entity_id}-entry")
        state = ha.states.get(entity_entry.entity_id)
        assert state is not None
        shown = {
            "state": state.state,
            "attributes": {str(k): str(v) for k, v in sorted(state.attributes.items())},
        }
        assert shown == snapshot(name=f"{entity_entry.entity_id}-state")


async def test_the_figures_of_the_morning(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    await run_morning(ha, freezer, move_to, {"price_mode": "fixed", "price": 0.25})
    energy = 7 * 0.4 + 2.0

    def value(entity_id: str) -> float:
        state = ha.states.get(entity_id)
        assert state is not None
        return float(state.state)

    assert value("sensor.house_energy_today") == pytest.approx(energy)
    assert value("sensor.house_mean_power_today") == pytest.approx(energy * 1000 / 8, abs=0.05)
    assert value("sensor.house_peak_10_minute_power_today") == 2000
    assert value("sensor.house_cost_today") == pytest.approx(energy * 0.25)
    assert value("sensor.house_coverage_today") == 100


async def test_an_unpriced_meter_has_no_cost_sensors(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    entity_registry: er.EntityRegistry,
) -> None:
    entry_id = await run_morning(ha, freezer, move_to, {})
    unique_ids = {e.unique_id for e in er.async_entries_for_config_entry(entity_registry, entry_id)}
    assert f"{HOUSE}_energy_today" in unique_ids
    assert f"{HOUSE}_cost_today" not in unique_ids
    assert f"{HOUSE}_cost_month" not in unique_ids


async def test_every_sensor_of_a_meter_belongs_to_its_one_device_and_subentry(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    entity_registry: er.EntityRegistry,
) -> None:
    entry_id = await run_morning(ha, freezer, move_to, {})
    meter_device = device_named(ha, HOUSE)
    dataset_device = device_named(ha, entry_id)
    assert meter_device is not None
    assert dataset_device is not None
    assert meter_device.name == "House"
    assert dataset_device.name == "PowerStats"
    sensors = [
        e
        for e in er.async_entries_for_config_entry(entity_registry, entry_id)
        if e.domain == "sensor"
    ]
    assert {e.device_id for e in sensors} == {meter_device.id}
    assert {e.config_subentry_id for e in sensors} == {HOUSE}
    # The maintenance switch is the dataset's, not a meter's.
    maintenance = entity_registry.async_get("switch.powerstats_maintenance")
    assert maintenance is not None
    assert maintenance.device_id == dataset_device.id
    assert maintenance.config_subentry_id is None


async def test_a_figure_that_did_not_move_at_a_boundary_is_not_written_again(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    ha.states.async_set(SOURCE, "600", W)
    entry = make_entry()
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await move_to(start + timedelta(minutes=10))
    peak = ha.states.get("sensor.house_peak_10_minute_power_today")
    energy = ha.states.get("sensor.house_energy_today")
    assert peak is not None
    assert energy is not None
    reported = peak.last_reported  # HA moves it on the same State when the state is rewritten
    await move_to(start + timedelta(minutes=20))
    # Energy grew and was written; the peak stayed at 600 W and was left as it was.
    assert ha.states.get("sensor.house_energy_today") != energy
    after = ha.states.get("sensor.house_peak_10_minute_power_today")
    assert after is not None
    assert after.last_reported == reported
