"""The sensors of a meter: one device, translated names, the day's figures (snapshots)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.syrupy import (  # type: ignore[import-untyped]
    HomeAssistantSnapshotExtension,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.powerstats.const import DOMAIN
from custom_components.powerstats.sensor import SENSORS

from .conftest import SOURCE, Clock, at, make_entry

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
    keys = {f"{entry_id}_{d.key}" for d in SENSORS}
    entries = [
        e
        for e in er.async_entries_for_config_entry(entity_registry, entry_id)
        if e.unique_id in keys
    ]
    assert len(entries) == len(SENSORS)
    for entity_entry in sorted(entries, key=lambda e: e.entity_id):
        assert entity_entry == snapshot(name=f"{entity_entry.entity_id}-entry")
        assert ha.states.get(entity_entry.entity_id) == snapshot(
            name=f"{entity_entry.entity_id}-state"
        )


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
    assert f"{entry_id}_energy_today" in unique_ids
    assert f"{entry_id}_cost_today" not in unique_ids
    assert f"{entry_id}_cost_month" not in unique_ids


async def test_every_sensor_belongs_to_the_meter_s_one_device(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    entry_id = await run_morning(ha, freezer, move_to, {})
    device = device_registry.async_get_device(identifiers={(DOMAIN, entry_id)})
    assert device is not None
    assert device.name == "House"
    devices = {e.device_id for e in er.async_entries_for_config_entry(entity_registry, entry_id)}
    assert devices == {device.id}
