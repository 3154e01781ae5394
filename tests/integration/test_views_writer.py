"""The views writer with many meters: each meter's files are rendered and written only as needed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import date
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)

from custom_components.powerstats.const import SIGNAL_VIEWS_WRITTEN
from custom_components.powerstats.core import views
from custom_components.powerstats.core.accounting import Bucket
from custom_components.powerstats.core.timegrid import day_bounds
from custom_components.powerstats.views_writer import Slices, ViewsWritten

from .conftest import (
    AMSTERDAM,
    Clock,
    add_meter,
    at,
    make_entry,
    meter_of,
    meter_subentry,
    read_file,
)

W = {"unit_of_measurement": "W"}


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each meter's level files were actually rendered (not taken as they were)."""
    counted: Counter[str] = Counter()
    real = views._level_head

    def counting(meter: views.MeterInfo, *args: Any) -> bytes:
        counted[meter.id] += 1
        return real(meter, *args)

    monkeypatch.setattr(views, "_level_head", counting)
    return counted


def sensor(i: int) -> str:
    return f"sensor.circuit_{i}"


async def test_adding_meters_one_by_one_renders_each_meters_files_once(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, renders: Counter[str]
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 3))
    for i in range(6):
        ha.states.async_set(sensor(i), "100", W)
    entry = make_entry(meters=[meter_subentry(sensor(0), "Circuit 0", "circuit_0")])
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await ha.async_block_till_done()
    first = meter_of(entry, "circuit_0")
    for i in range(1, 6):
        await add_meter(ha, entry, meter_subentry(sensor(i), f"Circuit {i}", f"circuit_{i}"))
    # The first meter kept running (no restart) while the others joined.
    assert meter_of(entry, "circuit_0") is first
    assert ha.states.get("sensor.circuit_5_energy_today") is not None
    # Four level files each, rendered once: no meter is rendered again for another's sake.
    assert renders == {f"circuit_{i}": 4 for i in range(6)}


async def test_a_meter_added_to_a_running_dataset_is_in_the_manifest_and_has_files(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 3))
    ha.states.async_set(sensor(0), "100", W)
    ha.states.async_set(sensor(1), "200", W)
    entry = make_entry(meters=[meter_subentry(sensor(0), "Circuit 0", "circuit_0")])
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await ha.async_block_till_done()
    await add_meter(ha, entry, meter_subentry(sensor(1), "Circuit 1", "circuit_1"))
    await move_to(at(2026, 11, 26, 12, 10))
    writer = entry.runtime_data.writer
    assert b'"id": "circuit_1"' in writer.file_bytes("manifest.json")
    daily = writer.file_bytes("circuit_1/daily.json")
    assert daily is not None
    assert await read_file(ha, "powerstats/circuit_1/daily.json") == daily
    assert meter_of(entry, "circuit_1").history.ten_minutes


async def test_history_merged_into_one_meter_renders_and_writes_none_of_the_others_files(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, renders: Counter[str]
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 3))
    ha.states.async_set(sensor(0), "100", W)
    ha.states.async_set(sensor(1), "200", W)
    entry = make_entry(
        meters=[
            meter_subentry(sensor(0), "Circuit 0", "circuit_0"),
            meter_subentry(sensor(1), "Circuit 1", "circuit_1"),
        ]
    )
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await ha.async_block_till_done()
    written: list[ViewsWritten] = []
    async_dispatcher_connect(ha, SIGNAL_VIEWS_WRITTEN, written.append)
    before = Counter(renders)
    start, end = day_bounds(date(2026, 11, 20), AMSTERDAM)
    landed = await meter_of(entry, "circuit_1").async_merge_backfill(
        days=[Bucket(start, end - start, 2.0, end - start, 50.0, 150.0, None, end - start)]
    )
    await ha.async_block_till_done()
    assert landed == 1
    assert renders["circuit_0"] == before["circuit_0"]
    assert renders["circuit_1"] > before["circuit_1"]
    changed = {path for event in written for path in event.changed}
    assert "circuit_1/monthly.json" in changed
    assert not {path for path in changed if path.startswith("circuit_0/")}


async def one_meter_from_12_03(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, watts: str
) -> MockConfigEntry:
    """A dataset with one meter, Circuit 0, set up at 12:03 with its source at `watts`."""
    freezer.move_to(at(2026, 11, 26, 12, 3))
    ha.states.async_set(sensor(0), watts, W)
    entry = make_entry(meters=[meter_subentry(sensor(0), "Circuit 0", "circuit_0")])
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await ha.async_block_till_done()
    return entry


async def test_each_boundary_writes_daily_and_each_coarse_level_is_written_once_an_hour(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await one_meter_from_12_03(ha, freezer, "100")
    written: list[ViewsWritten] = []
    async_dispatcher_connect(ha, SIGNAL_VIEWS_WRITTEN, written.append)
    writer = entry.runtime_data.writer
    # Weekly at the hour's first boundary, monthly at its second, yearly at its third.
    coarse = {0: "weekly", 10: "monthly", 20: "yearly"}
    for hour, minute in [(12, m) for m in (10, 20, 30, 40, 50)] + [
        (13, m) for m in range(0, 60, 10)
    ]:
        ha.states.async_set(sensor(0), str(100 + minute), W)
        before = {level: writer.file_bytes(f"circuit_0/{level}.json") for level in views.LEVELS}
        await move_to(at(2026, 11, 26, hour, minute))
        also = {f"circuit_0/{coarse[minute]}.json"} if minute in coarse else set()
        assert set(written.pop().changed) == {"circuit_0/daily.json", "manifest.json", *also}
        for level in set(views.LEVELS) - {"daily", coarse.get(minute)}:
            assert writer.file_bytes(f"circuit_0/{level}.json") == before[level], (minute, level)
    for level in views.LEVELS:
        assert await read_file(ha, f"powerstats/circuit_0/{level}.json") == writer.file_bytes(
            f"circuit_0/{level}.json"
        )


async def test_the_coarse_levels_hold_every_hour_closed_by_the_start_of_the_hour(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await one_meter_from_12_03(ha, freezer, "600")
    for hour, minute in [(12, 10), (12, 20), (12, 30), (12, 40), (12, 50), (13, 0), (13, 10)]:
        await move_to(at(2026, 11, 26, hour, minute))
    await move_to(at(2026, 11, 26, 13, 20))
    writer = entry.runtime_data.writer
    meter = meter_of(entry, "circuit_0")
    # Rendered later in the hour, each is the file as it would have been at 13:00.
    one = at(2026, 11, 26, 13, 0).timestamp()
    for level in ("weekly", "monthly", "yearly"):
        assert writer.file_bytes(f"circuit_0/{level}.json") == views.render_level(
            meter.info, level, meter.history, one
        ), level
    hours = json.loads(writer.file_bytes("circuit_0/weekly.json") or b"")["rows"]
    noon = int(at(2026, 11, 26, 12, 0).timestamp())
    assert [row[1] for row in hours if row[0] == noon] == [pytest.approx(0.6 * 57 / 60)]


async def test_a_pause_runs_a_task_a_timer_woke_during_the_slice_before_the_work_goes_on() -> None:
    loop = asyncio.get_running_loop()
    woken = loop.create_future()
    ran: list[str] = []

    async def waiting() -> None:
        await woken
        ran.append("woken")

    task = loop.create_task(waiting())
    await asyncio.sleep(0)  # now waiting on its future
    # While a used-up slice runs, a timer falls due that wakes the waiting task.
    loop.call_at(loop.time(), woken.set_result, None)
    await Slices(seconds=0).pause()
    assert ran == ["woken"]
    await task
