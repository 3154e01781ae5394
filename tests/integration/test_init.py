"""Setup and unload: unloading removes what PowerStats added; a failed setup leaves nothing;
a change made while the dataset starts is not lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)

import custom_components.powerstats as powerstats
from custom_components.powerstats import panel, publisher, views_writer
from custom_components.powerstats.const import DOMAIN, meter_store_key
from custom_components.powerstats.core import fileio
from custom_components.powerstats.meter import PowerStatsMeter
from custom_components.powerstats.runtime import PowerStatsData

from .conftest import (
    SOURCE,
    Clock,
    add_meter,
    as_subentry,
    at,
    make_entry,
    meter_of,
    meter_subentry,
    served,
)

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


def _at_its_beginning(
    ha: HomeAssistant, change: Callable[[], object], mp: pytest.MonkeyPatch
) -> list[str]:
    # The restart's first wait is for the dashboard's folder (in the executor): the change is
    # made on the event loop while it waits there, once. Returns when it was made.
    real = publisher.dashboard_dir
    made = threading.Event()
    seen: list[str] = []

    def make() -> None:
        change()
        seen.append("as it begins")
        made.set()

    def gated() -> Path | None:
        if not made.is_set():
            ha.loop.call_soon_threadsafe(make)
            made.wait(30)
        return real()

    mp.setattr(powerstats, "dashboard_dir", gated)
    return seen


def _with_its_meters_running(
    entry: MockConfigEntry, change: Callable[[], object], mp: pytest.MonkeyPatch
) -> list[str]:
    # The restart's meters are running, and it has not finished, when it loads what the
    # publisher keeps: the change is made then, once. Returns when it was made.
    real = publisher.Publisher.async_load
    seen: list[str] = []

    async def gated(self: publisher.Publisher) -> None:
        if not seen:
            data: PowerStatsData = entry.runtime_data
            running = bool(data.meters) and not data.running_with
            seen.append("with its meters running" if running else "at another moment")
            change()
        await real(self)

    mp.setattr(publisher.Publisher, "async_load", gated)
    return seen


async def change_while_restarting(
    ha: HomeAssistant,
    entry: MockConfigEntry,
    moment: str,
    change: Callable[[], object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Change the first meter's price, so the dataset restarts; make `change` at `moment` of
    that restart (where a person adding or changing a meter straight after may catch it)."""
    if moment == "as it begins":
        seen = _at_its_beginning(ha, change, monkeypatch)
    else:
        seen = _with_its_meters_running(entry, change, monkeypatch)
    first = entry.subentries["subentry_circuit_0"]
    ha.config_entries.async_update_subentry(entry, first, data={**first.data, "price": 0.3})
    await ha.async_block_till_done()
    # Checked here, not in the gates: an assertion inside the restart would only fail its setup.
    assert seen == [moment], f"the change was made {seen or 'never'}, not {moment}"


RESTART_MOMENTS = ["as it begins", "with its meters running"]
CIRCUIT_1 = meter_subentry("sensor.circuit_1", "Circuit 1", "circuit_1")


def meters_running_twice(entry: MockConfigEntry, started: list[PowerStatsMeter]) -> list[str]:
    """Meters that started and were never stopped though another runs in their place: they
    follow their sensor and write their store beside the one running."""
    running = set(entry.runtime_data.meters.values())
    return [m.config.meter_id for m in started if m not in running and m._unsubs]


async def two_circuits_one_meter(ha: HomeAssistant, freezer: FrozenDateTimeFactory) -> Any:
    freezer.move_to(at(2026, 11, 26, 12, 3))
    ha.states.async_set("sensor.circuit_0", "100", W)
    ha.states.async_set("sensor.circuit_1", "200", W)
    entry = make_entry(meters=[meter_subentry("sensor.circuit_0", "Circuit 0", "circuit_0")])
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await ha.async_block_till_done()
    return entry


@pytest.mark.parametrize("moment", RESTART_MOMENTS)
async def test_a_meter_added_while_the_dataset_restarts_joins_it_once(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    started_meters: list[PowerStatsMeter],
    monkeypatch: pytest.MonkeyPatch,
    moment: str,
) -> None:
    entry = await two_circuits_one_meter(ha, freezer)
    added = as_subentry(CIRCUIT_1)
    add = partial(ha.config_entries.async_add_subentry, entry, added)
    await change_while_restarting(ha, entry, moment, add, monkeypatch)
    assert ha.states.get("sensor.circuit_1_energy_today") is not None
    assert b'"id": "circuit_1"' in served(ha, "manifest.json")
    assert meters_running_twice(entry, started_meters) == []


@pytest.mark.parametrize("moment", RESTART_MOMENTS)
async def test_a_meter_changed_while_the_dataset_restarts_runs_with_the_change(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    entry = await two_circuits_one_meter(ha, freezer)

    def rename() -> None:
        first = entry.subentries["subentry_circuit_0"]
        ha.config_entries.async_update_subentry(entry, first, data={**first.data, "name": "Oven"})

    await change_while_restarting(ha, entry, moment, rename, monkeypatch)
    assert meter_of(entry, "circuit_0").config.name == "Oven"
    assert b'"name": "Oven"' in served(ha, "manifest.json")


async def test_a_restart_while_a_meter_joins_leaves_no_meter_running_twice(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, started_meters: list[PowerStatsMeter]
) -> None:
    entry = await two_circuits_one_meter(ha, freezer)
    # A meter is added, and before it has read its store another meter's settings change (the
    # dataset restarts): what a person pricing meters straight after adding them does.
    ha.config_entries.async_add_subentry(entry, as_subentry(CIRCUIT_1))
    first = entry.subentries["subentry_circuit_0"]
    ha.config_entries.async_update_subentry(entry, first, data={**first.data, "price": 0.3})
    await ha.async_block_till_done()
    assert {m.config.meter_id for m in entry.runtime_data.meters.values()} == {
        "circuit_0",
        "circuit_1",
    }
    assert meters_running_twice(entry, started_meters) == []


async def fail_to_unload(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    stays: Platform,
    failure: str,
) -> None:
    """Unload the dataset while the platform `stays` fails to (returns False, or raises)."""
    unload = hass.config_entries.async_forward_entry_unload

    async def one_stays(unloading: MockConfigEntry, platform: Platform | str) -> bool:
        if platform != stays:
            return await unload(unloading, platform)
        if failure == "raises":
            raise RuntimeError(f"the {stays} platform could not unload")
        return False

    monkeypatch.setattr(hass.config_entries, "async_forward_entry_unload", one_stays)
    assert not await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.FAILED_UNLOAD


# HA cannot unload the dataset after that: its timers are still there when the test ends.
@pytest.mark.parametrize("expected_lingering_timers", [True])
@pytest.mark.parametrize("failure", ["returns_false", "raises"])
async def test_a_meter_added_after_a_platform_failed_to_unload_joins_the_dataset_still_running(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    entry = await two_circuits_one_meter(ha, freezer)
    await fail_to_unload(ha, entry, monkeypatch, Platform.SENSOR, failure)

    await add_meter(ha, entry, CIRCUIT_1)

    assert ha.states.get("sensor.circuit_1_energy_today") is not None
    assert b'"id": "circuit_1"' in entry.runtime_data.writer.file_bytes("manifest.json")


# HA cannot unload the dataset after that: its timers are still there when the test ends.
@pytest.mark.parametrize("expected_lingering_timers", [True])
@pytest.mark.parametrize("failure", ["returns_false", "raises"])
async def test_a_meter_joining_after_only_the_sensors_unloaded_adds_no_sensors_to_that_platform(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    entry = await two_circuits_one_meter(ha, freezer)
    await fail_to_unload(ha, entry, monkeypatch, Platform.SWITCH, failure)

    await add_meter(ha, entry, CIRCUIT_1)

    assert ha.states.get("sensor.circuit_1_energy_today") is None
    registered = er.async_entries_for_config_entry(er.async_get(ha), entry.entry_id)
    assert [e.entity_id for e in registered if e.config_subentry_id == "subentry_circuit_1"] == []
    assert "Circuit 1 joined PowerStats while its sensors are unloaded" in caplog.text
    # The meter still joins the dataset that runs on: it is counted and in the files.
    assert b'"id": "circuit_1"' in entry.runtime_data.writer.file_bytes("manifest.json")


async def test_a_meter_that_cannot_join_the_running_dataset_shows_as_its_setup_error(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    started_meters: list[PowerStatsMeter],
) -> None:
    entry = await two_circuits_one_meter(ha, freezer)
    start = PowerStatsMeter.async_start

    async def circuit_1_fails(meter: PowerStatsMeter) -> None:
        if meter.config.meter_id == "circuit_1":
            raise RuntimeError("circuit 1 cannot start")
        await start(meter)

    monkeypatch.setattr(PowerStatsMeter, "async_start", circuit_1_fails)
    ha.config_entries.async_add_subentry(entry, as_subentry(CIRCUIT_1))
    await ha.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "setup_failed"
    assert "circuit 1 cannot start" in entry.error_reason_translation_placeholders["error"]
    assert [m.config.meter_id for m in started_meters if m._unsubs] == []


@pytest.mark.parametrize("moment", RESTART_MOMENTS)
async def test_a_meter_removed_while_the_dataset_restarts_is_forgotten(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    entry = await two_circuits_one_meter(ha, freezer)
    await add_meter(ha, entry, CIRCUIT_1)
    remove = partial(ha.config_entries.async_remove_subentry, entry, "subentry_circuit_1")
    await change_while_restarting(ha, entry, moment, remove, monkeypatch)
    assert entry.state is ConfigEntryState.LOADED
    assert set(entry.runtime_data.meters) == {"subentry_circuit_0"}
    assert b'"id": "circuit_1"' not in served(ha, "manifest.json")
    folder = Path(ha.config.path("powerstats", "circuit_1"))
    assert not [path for path in data_files(ha) if path.is_relative_to(folder)]


async def test_a_meter_added_again_under_its_name_while_its_removal_restarts_keeps_its_files(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    entry = await two_circuits_one_meter(ha, freezer)
    await add_meter(ha, entry, CIRCUIT_1)
    # Removed, and added again under the same name before the dataset restarted without it:
    # the new meter is made the same id, circuit_1, and with it the same folder.
    ha.config_entries.async_remove_subentry(entry, "subentry_circuit_1")
    again = as_subentry({**CIRCUIT_1, "subentry_id": "subentry_circuit_1_again"})
    ha.config_entries.async_add_subentry(entry, again)
    await ha.async_block_till_done()

    assert meter_of(entry, "circuit_1").subentry_id == "subentry_circuit_1_again"
    files = data_files(ha)
    root = Path(ha.config.path("powerstats"))
    listed = json.loads(files[root / "manifest.json"])["meters"]
    assert [m["id"] for m in listed] == ["circuit_0", "circuit_1"]
    for path in (f["path"] for m in listed for f in m["files"].values()):
        assert root / path in files, path


# HA cannot unload the dataset after that: its timers are still there when the test ends.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_a_meter_removed_when_the_dataset_fails_to_unload_keeps_its_files_while_it_runs(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = await two_circuits_one_meter(ha, freezer)
    await add_meter(ha, entry, CIRCUIT_1)
    unload = ha.config_entries.async_forward_entry_unload

    async def switch_stays(unloading: MockConfigEntry, platform: Platform | str) -> bool:
        return False if platform == Platform.SWITCH else await unload(unloading, platform)

    monkeypatch.setattr(ha.config_entries, "async_forward_entry_unload", switch_stays)
    ha.config_entries.async_remove_subentry(entry, "subentry_circuit_1")
    await ha.async_block_till_done()

    # The restart failed: the meter runs on, counted and in the files, until HA restarts (its
    # store and files are dropped at that start, as for a meter removed while disabled).
    assert entry.state is ConfigEntryState.FAILED_UNLOAD
    assert meter_store_key("subentry_circuit_1") in hass_storage
    files = data_files(ha)
    root = Path(ha.config.path("powerstats"))
    listed = json.loads(files[root / "manifest.json"])["meters"]
    assert [m["id"] for m in listed] == ["circuit_0", "circuit_1"]
    for path in (f["path"] for m in listed for f in m["files"].values()):
        assert root / path in files, path

    # A change HA cannot apply by reloading waits for the restart, said so.
    first = entry.subentries["subentry_circuit_0"]
    ha.config_entries.async_update_subentry(entry, first, data={**first.data, "name": "Oven"})
    await ha.async_block_till_done()
    assert "the change made to it applies when Home Assistant restarts" in caplog.text
    assert meter_of(entry, "circuit_0").config.name == "Circuit 0"
