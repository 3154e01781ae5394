"""The views writer with many meters: each meter's files are rendered and written only as needed."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)

from custom_components.powerstats import views_writer
from custom_components.powerstats.const import SIGNAL_VIEWS_WRITTEN
from custom_components.powerstats.core import fileio, views
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
    served,
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
    writer = entry.runtime_data.writer
    # A new set of files is copied to the config folder at once, manifest and all.
    for path in ("manifest.json", "circuit_1/daily.json"):
        assert await read_file(ha, f"powerstats/{path}") == writer.file_bytes(path)
    await move_to(at(2026, 11, 26, 12, 10))
    assert b'"id": "circuit_1"' in served(ha, "manifest.json")
    assert meter_of(entry, "circuit_1").history.ten_minutes


async def test_a_name_saved_longer_than_the_files_may_carry_is_cut_to_the_contracts_limit(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    # Names were not limited before: such a meter's files must still be ones readers accept.
    freezer.move_to(at(2026, 11, 26, 12, 3))
    ha.states.async_set(sensor(0), "100", W)
    long_name = "Circuit " + "ä" * 120
    entry = make_entry(meters=[meter_subentry(sensor(0), long_name, "circuit_0")])
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await ha.async_block_till_done()
    manifest = json.loads(served(ha, "manifest.json"))
    daily = json.loads(served(ha, "circuit_0/daily.json"))
    assert manifest["meters"][0]["name"] == daily["meter"]["name"] == long_name[:100]


async def test_adding_a_meter_copies_its_files_and_leaves_the_others_to_their_turns(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await one_meter_from_12_03(ha, freezer, "100")
    ha.states.async_set(sensor(1), "200", W)
    writer = entry.runtime_data.writer
    boundary = at(2026, 11, 26, 12, 10)
    # Until circuit_0's copy in the folder is behind what is served (not its turn).
    while (await folder(ha))["circuit_0/daily.json"] == writer.file_bytes("circuit_0/daily.json"):
        ha.states.async_set(sensor(0), str(100 + boundary.minute), W)
        await move_to(boundary)
        boundary += timedelta(minutes=10)
    before = await folder(ha)
    await add_meter(ha, entry, meter_subentry(sensor(1), "Circuit 1", "circuit_1"))
    after = await folder(ha)
    assert {p: d for p, d in after.items() if p.startswith("circuit_0/")} == {
        p: d for p, d in before.items() if p.startswith("circuit_0/")
    }
    assert after["circuit_1/daily.json"] == writer.file_bytes("circuit_1/daily.json")
    # The folder's manifest lists both meters, each with the files beside it.
    manifest = json.loads(after["manifest.json"])
    assert [m["id"] for m in manifest["meters"]] == ["circuit_0", "circuit_1"]
    for listed in manifest["meters"]:
        for file in listed["files"].values():
            assert hashlib.sha256(after[file["path"]]).hexdigest() == file["sha256"]


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


async def test_each_boundary_renders_daily_and_each_coarse_level_once_an_hour(
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


async def folder(ha: HomeAssistant) -> dict[str, bytes]:
    """Every file of the dataset as the config folder holds it."""
    root = Path(ha.config.path("powerstats"))

    def read() -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*.json")
            if not p.name.startswith(".")
        }

    return await ha.async_add_executor_job(read)


def rendered(entry: MockConfigEntry) -> dict[str, bytes]:
    return {path: f.data for path, f in entry.runtime_data.writer.files.items()}


async def test_the_config_folder_gets_a_copy_at_set_up_and_then_every_three_hours(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await one_meter_from_12_03(ha, freezer, "100")
    copied = await folder(ha)
    assert copied == rendered(entry)
    copies: list[datetime] = []
    boundary = at(2026, 11, 26, 12, 10)
    while boundary <= at(2026, 11, 26, 18, 10):
        ha.states.async_set(sensor(0), str(100 + boundary.hour + boundary.minute), W)
        await move_to(boundary)
        if (now := await folder(ha)) != copied:
            assert now == rendered(entry), boundary
            copies.append(boundary)
            copied = now
        boundary += timedelta(minutes=10)
    # The files changed at every boundary; the folder took them twice in six hours.
    assert len(copies) == 2
    assert copies[0] - at(2026, 11, 26, 12, 0) <= timedelta(hours=3)
    assert copies[1] - copies[0] == timedelta(hours=3)


async def test_meters_take_turns_and_the_folders_manifest_matches_the_folders_files(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 3))
    for i in range(3):
        ha.states.async_set(sensor(i), "100", W)
    entry = make_entry(
        meters=[meter_subentry(sensor(i), f"Circuit {i}", f"circuit_{i}") for i in range(3)]
    )
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await ha.async_block_till_done()
    before = await folder(ha)
    copied: Counter[str] = Counter()
    boundary = at(2026, 11, 26, 12, 10)
    while boundary <= at(2026, 11, 26, 15, 0):
        for i in range(3):
            ha.states.async_set(sensor(i), str(100 + boundary.minute + i), W)
        await move_to(boundary)
        now = await folder(ha)
        meters = {path.split("/")[0] for path in now if now[path] != before.get(path)} - {
            "manifest.json"
        }
        assert len(meters) <= 1, (boundary, meters)  # one meter's turn at a time
        copied.update(meters)
        manifest = json.loads(now["manifest.json"])
        for listed in manifest["meters"]:
            for entry_ in listed["files"].values():
                data = now[entry_["path"]]
                assert hashlib.sha256(data).hexdigest() == entry_["sha256"], (boundary, entry_)
                assert len(data) == entry_["bytes"]
        before = now
        boundary += timedelta(minutes=10)
    assert copied == {f"circuit_{i}": 1 for i in range(3)}


async def test_a_level_left_out_leaves_the_folder_and_one_chosen_again_comes_back(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    entry = await one_meter_from_12_03(ha, freezer, "100")
    assert sorted(await folder(ha)) == [
        "circuit_0/daily.json",
        "circuit_0/monthly.json",
        "circuit_0/weekly.json",
        "circuit_0/yearly.json",
        "manifest.json",
    ]
    subentry = entry.subentries["subentry_circuit_0"]

    # Left out to keep it private (the meter's Change meter form): no stale copy stays behind.
    ha.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "levels": ["monthly", "yearly"]}
    )
    await ha.async_block_till_done()
    assert await folder(ha) == rendered(entry)
    assert sorted(rendered(entry)) == [
        "circuit_0/monthly.json",
        "circuit_0/yearly.json",
        "manifest.json",
    ]

    subentry = entry.subentries["subentry_circuit_0"]
    ha.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "levels": ["daily", "yearly"]}
    )
    await ha.async_block_till_done()
    assert await folder(ha) == rendered(entry)
    assert sorted(rendered(entry)) == [
        "circuit_0/daily.json",
        "circuit_0/yearly.json",
        "manifest.json",
    ]


async def test_history_merged_in_is_copied_to_the_config_folder_at_once(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await one_meter_from_12_03(ha, freezer, "100")
    await move_to(at(2026, 11, 26, 12, 10))
    start, end = day_bounds(date(2026, 11, 20), AMSTERDAM)
    landed = await meter_of(entry, "circuit_0").async_merge_backfill(
        days=[Bucket(start, end - start, 2.0, end - start, 50.0, 150.0, None, end - start)]
    )
    await ha.async_block_till_done()
    assert landed == 1
    assert await folder(ha) == rendered(entry)


async def test_a_failed_copy_to_the_folder_is_logged_publishing_still_hears_and_it_is_tried_again(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = await one_meter_from_12_03(ha, freezer, "100")
    heard: list[int] = []
    entry.async_on_unload(
        async_dispatcher_connect(ha, SIGNAL_VIEWS_WRITTEN, lambda event: heard.append(event.as_of))
    )
    real = fileio.write_atomically

    def disk_full(target: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(views_writer, "write_atomically", disk_full)
    boundary = at(2026, 11, 26, 12, 10)
    while "No space left on device" not in caplog.text:
        assert boundary <= at(2026, 11, 26, 15, 10), "no copy was due in three hours"
        ha.states.async_set(sensor(0), str(100 + boundary.hour + boundary.minute), W)
        await move_to(boundary)
        # Every boundary reached publishing, the failed copy's too.
        assert heard[-1] == int(boundary.timestamp())
        boundary += timedelta(minutes=10)
    assert "Could not copy the PowerStats files to" in caplog.text
    assert await folder(ha) != rendered(entry)  # the folder kept the last copy
    monkeypatch.setattr(views_writer, "write_atomically", real)
    await move_to(boundary)
    assert await folder(ha) == rendered(entry)


async def test_stopping_home_assistant_or_unloading_brings_the_config_folder_up_to_date(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await one_meter_from_12_03(ha, freezer, "100")
    await move_to(at(2026, 11, 26, 12, 10))
    assert await folder(ha) != rendered(entry)
    ha.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await ha.async_block_till_done()
    assert await folder(ha) == rendered(entry)
    ha.states.async_set(sensor(0), "300", W)
    await move_to(at(2026, 11, 26, 12, 20))
    last = rendered(entry)
    assert await folder(ha) != last
    assert await ha.config_entries.async_unload(entry.entry_id)
    assert await folder(ha) == last


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
