"""Setup and unload: unloading removes what PowerStats added; a failed setup leaves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.powerstats import panel, views_writer
from custom_components.powerstats.const import DOMAIN, meter_store_key
from custom_components.powerstats.core import fileio
from custom_components.powerstats.meter import PowerStatsMeter

from .conftest import SOURCE, Clock, at, make_entry, meter_subentry

W = {"unit_of_measurement": "W"}
TWO_METERS = [meter_subentry(), meter_subentry("sensor.solar", "Solar", "solar")]


@pytest.fixture
def panel_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What was done to the sidebar panel, in order."""
    calls: list[str] = []

    async def register(hass: HomeAssistant) -> None:
        calls.append("register")

    async def unregister(hass: HomeAssistant) -> None:
        calls.append("unregister")

    monkeypatch.setattr(panel, "async_register_panel", register)
    monkeypatch.setattr(panel, "async_unregister_panel", unregister)
    return calls


@pytest.fixture
def started_meters(monkeypatch: pytest.MonkeyPatch) -> list[PowerStatsMeter]:
    """Every meter that started, also those of a setup that failed afterwards."""
    started: list[PowerStatsMeter] = []
    original = PowerStatsMeter.async_start

    async def start(self: PowerStatsMeter) -> None:
        await original(self)
        started.append(self)

    monkeypatch.setattr(PowerStatsMeter, "async_start", start)
    return started


def listeners(hass: HomeAssistant) -> dict[str, int]:
    """Bus listeners by event type, but HA's final write (its own stores use it too)."""
    return {
        str(event): count
        for event, count in hass.bus.async_listeners().items()
        if event != EVENT_HOMEASSISTANT_FINAL_WRITE
    }


def data_files(hass: HomeAssistant) -> dict[Path, bytes]:
    """Every file under <config>/powerstats with its bytes."""
    root = Path(hass.config.path("powerstats"))
    return {path: path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


async def test_unloading_removes_tick_tracking_and_panel(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    panel_calls: list[str],
    started_meters: list[PowerStatsMeter],
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "100", W)
    ha.states.async_set("sensor.solar", "-50", W)
    entry = make_entry(meters=TWO_METERS)
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    assert panel_calls == ["register"]
    assert {m.config.meter_id for m in started_meters} == {"house", "solar"}

    assert await ha.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert panel_calls == ["register", "unregister"]
    # No more tracking: a new state and a bucket boundary change nothing.
    before = [m.accumulator.to_json() for m in started_meters]
    ha.states.async_set(SOURCE, "9999", W)
    await move_to(at(2026, 11, 26, 12, 30))
    assert [m.accumulator.to_json() for m in started_meters] == before
    assert all(
        state.state == "unavailable"
        for state in ha.states.async_all("sensor")
        if state.entity_id.startswith("sensor.house_") and state.entity_id != SOURCE
    )
    # The actions stay registered (async_setup) and say PowerStats is not set up.
    assert ha.services.has_service(DOMAIN, "export")


def _fail_writing(*_: Any) -> None:
    raise OSError(28, "No space left on device")


async def _fail_registering(hass: HomeAssistant) -> None:
    raise RuntimeError("the frontend refused the panel")


@pytest.mark.parametrize(
    ("failure", "state"),
    [
        ("second_meter_cannot_start", ConfigEntryState.SETUP_RETRY),
        ("files_cannot_be_written", ConfigEntryState.SETUP_RETRY),
        ("panel_cannot_register", ConfigEntryState.SETUP_ERROR),
    ],
)
async def test_a_setup_that_fails_after_its_first_meter_started_leaves_nothing_running(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    monkeypatch: pytest.MonkeyPatch,
    panel_calls: list[str],
    started_meters: list[PowerStatsMeter],
    hass_storage: dict[str, Any],
    failure: str,
    state: ConfigEntryState,
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 3))
    ha.states.async_set(SOURCE, "100", W)
    ha.states.async_set("sensor.solar", "-50", W)
    entry = make_entry(meters=TWO_METERS)
    entry.add_to_hass(ha)
    # PowerStats' own listeners are counted against HA with its dependencies loaded.
    assert await async_setup_component(ha, "http", {})
    await ha.async_block_till_done()
    listeners_before = listeners(ha)
    write = fileio.write_atomically
    if failure == "files_cannot_be_written":
        monkeypatch.setattr(views_writer, "write_atomically", _fail_writing)
    elif failure == "panel_cannot_register":
        monkeypatch.setattr(panel, "async_register_panel", _fail_registering)
    else:
        original = PowerStatsMeter.async_start
        calls: list[PowerStatsMeter] = []

        async def start_once(self: PowerStatsMeter) -> None:
            # Meters start side by side: the second fails while the first is starting.
            calls.append(self)
            if len(calls) > 1:
                raise OSError(5, "Input/output error")
            await original(self)
            started_meters.append(self)

        monkeypatch.setattr(PowerStatsMeter, "async_start", start_once)

    assert not await ha.config_entries.async_setup(entry.entry_id)
    assert entry.state is state
    entry.async_cancel_retry_setup()  # HA's own retry aside: nothing of PowerStats may remain
    await ha.async_block_till_done()
    assert started_meters, "the failure must come after a meter started"
    first = started_meters[0]
    house_store = meter_store_key(first.subentry_id)
    saved = hass_storage[house_store]["data"]
    written = data_files(ha)  # what the failed setup wrote stays as it was

    assert listeners(ha) == listeners_before
    assert "register" not in panel_calls
    monkeypatch.setattr(views_writer, "write_atomically", write)
    accumulated = first.accumulator.to_json()
    ha.states.async_set(SOURCE, "9999", W)
    # Past many bucket boundaries and the shutdown save's delay: no tick, no save, no tracking.
    await move_to(at(2026, 11, 26, 14, 10))
    ha.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)  # as at shutdown: no save was pending
    await ha.async_block_till_done()
    assert first.accumulator.to_json() == accumulated
    assert hass_storage[house_store]["data"] == saved
    assert data_files(ha) == written
