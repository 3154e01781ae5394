"""Setup and unload: unloading the last meter removes everything PowerStats added."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from custom_components.powerstats import panel
from custom_components.powerstats.const import DATA_HUB, DOMAIN

from .conftest import SOURCE, Clock, at, make_entry

W = {"unit_of_measurement": "W"}


async def test_unloading_the_last_meter_removes_hub_tick_tracking_and_panel(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel_calls: list[str] = []

    async def register(hass: HomeAssistant) -> None:
        panel_calls.append("register")

    async def unregister(hass: HomeAssistant) -> None:
        panel_calls.append("unregister")

    monkeypatch.setattr(panel, "async_register_panel", register)
    monkeypatch.setattr(panel, "async_unregister_panel", unregister)
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "100", W)
    ha.states.async_set("sensor.solar", "-50", W)
    house = make_entry()
    solar = make_entry(entity_id="sensor.solar", name="Solar", meter_id="solar")
    for entry in (house, solar):
        entry.add_to_hass(ha)
        assert await ha.config_entries.async_setup(entry.entry_id)
    assert panel_calls == ["register"]
    meter = house.runtime_data

    assert await ha.config_entries.async_unload(solar.entry_id)
    assert panel_calls == ["register"]
    assert set(ha.data[DATA_HUB].meters) == {"house"}

    assert await ha.config_entries.async_unload(house.entry_id)
    assert house.state is ConfigEntryState.NOT_LOADED
    assert DATA_HUB not in ha.data
    assert panel_calls == ["register", "unregister"]
    # No more tracking: a new state and a bucket boundary change nothing.
    before = meter.accumulator.to_json()
    ha.states.async_set(SOURCE, "9999", W)
    await move_to(at(2026, 11, 26, 12, 30))
    assert meter.accumulator.to_json() == before
    assert all(
        state.state == "unavailable"
        for state in ha.states.async_all("sensor")
        if state.entity_id.startswith("sensor.house_") and state.entity_id != SOURCE
    )
    # The actions stay registered (async_setup) and say there is no meter.
    assert ha.services.has_service(DOMAIN, "export")
