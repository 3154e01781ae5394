"""Durable state: restarts, crashes, downtime, corrupt and old stores, in a real HA core."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)

from custom_components.powerstats.const import (
    DOMAIN,
    STORAGE_MINOR_VERSION,
    meter_store_key,
    store_issue_id,
)
from custom_components.powerstats.core.accounting import Bucket
from custom_components.powerstats.core.timegrid import day_bounds
from custom_components.powerstats.meter import PowerStatsMeter

from .conftest import (
    AMSTERDAM,
    HOUSE,
    SOURCE,
    Clock,
    at,
    make_entry,
    meter_of,
    meter_subentry,
    read_file,
    served,
    snapshots_fail,
)

W = {"unit_of_measurement": "W"}


async def setup(hass: HomeAssistant, entry: MockConfigEntry) -> PowerStatsMeter:
    if entry.entry_id not in {e.entry_id for e in hass.config_entries.async_entries(DOMAIN)}:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return meter_of(entry)


def ts(*args: int) -> int:
    return int(at(*args).timestamp())


async def started_at(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime, watts: str = "1200"
) -> MockConfigEntry:
    """The House meter set up at `when` with its source at `watts`."""
    freezer.move_to(when)
    hass.states.async_set(SOURCE, watts, W)
    entry = make_entry()
    await setup(hass, entry)
    return entry


async def test_a_clean_restart_in_the_middle_of_a_bucket_loses_nothing(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 12, 0))
    await move_to(at(2026, 11, 26, 12, 4))
    assert await ha.config_entries.async_reload(entry.entry_id)
    await ha.async_block_till_done()
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter_of(entry).history.ten_minutes[ts(2026, 11, 26, 12, 0)]
    assert bucket.covered == 600
    assert bucket.kwh == pytest.approx(0.2)


async def test_a_crash_loses_at_most_the_open_bucket_which_shows_as_a_gap(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 11, 55))
    await move_to(at(2026, 11, 26, 12, 0))
    await move_to(at(2026, 11, 26, 12, 5))
    journal = journal_path(ha)
    saved_at_last_close = copy.deepcopy(hass_storage[meter_store_key(HOUSE)])
    journal_at_last_close = await ha.async_add_executor_job(journal.read_bytes)
    assert await ha.config_entries.async_unload(entry.entry_id)
    # The power is cut: what was saved at 12:00 (snapshot and journal) is all there is.
    hass_storage[meter_store_key(HOUSE)] = saved_at_last_close
    await ha.async_add_executor_job(journal.write_bytes, journal_at_last_close)
    await move_to(at(2026, 11, 26, 12, 7))
    meter = await setup(ha, entry)
    await move_to(at(2026, 11, 26, 12, 10))
    history = meter.history
    assert history.ten_minutes[ts(2026, 11, 26, 11, 50)].covered == 300
    crashed = history.ten_minutes[ts(2026, 11, 26, 12, 0)]
    assert crashed.covered == 180
    assert crashed.mean_w == pytest.approx(1200)


async def test_the_open_bucket_is_in_the_final_write_at_shutdown(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    await started_at(ha, freezer, at(2026, 11, 26, 12, 0))
    await move_to(at(2026, 11, 26, 12, 6))
    ha.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await ha.async_block_till_done()
    saved = hass_storage[meter_store_key(HOUSE)]["data"]["accumulator"]
    assert saved["covered"] == 360
    assert saved["ws"] == pytest.approx(1200 * 360)


async def test_after_a_restart_the_open_bucket_is_still_in_the_final_write_at_shutdown(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 12, 0))
    assert await ha.config_entries.async_unload(entry.entry_id)
    await setup(ha, entry)
    await move_to(at(2026, 11, 26, 12, 6))
    ha.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await ha.async_block_till_done()
    saved = hass_storage[meter_store_key(HOUSE)]["data"]["accumulator"]
    assert saved["covered"] == 360
    assert saved["ws"] == pytest.approx(1200 * 360)


async def test_ha_stopped_over_midnight_and_restarted_two_days_later(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 24, 20, 0), "1000")
    await move_to(at(2026, 11, 24, 21, 0))
    await move_to(at(2026, 11, 24, 22, 5))
    assert await ha.config_entries.async_unload(entry.entry_id)
    freezer.move_to(at(2026, 11, 26, 8, 0))
    ha.states.async_set(SOURCE, "500", W)
    meter = await setup(ha, entry)
    await move_to(at(2026, 11, 26, 9, 0))
    days = meter.history.days
    assert days[ts(2026, 11, 24, 0, 0)].covered == pytest.approx(2 * 3600 + 300)
    assert days[ts(2026, 11, 24, 0, 0)].kwh == pytest.approx(2 + 5 / 60)
    assert ts(2026, 11, 25, 0, 0) not in days
    assert days[ts(2026, 11, 26, 0, 0)].kwh == pytest.approx(0.5)
    monthly = json.loads(await read_file(ha, "powerstats/house/monthly.json"))
    rows = {row[0]: row for row in monthly["rows"]}
    assert rows[ts(2026, 11, 25, 0, 0)][1:6] == [None, None, None, None, 0]
    assert rows[ts(2026, 11, 24, 0, 0)][1] == round(2 + 5 / 60, 4)
    assert rows[ts(2026, 11, 24, 0, 0)][5] == round((2 * 3600 + 300) / 86400, 3)


async def test_a_corrupt_store_is_reported_and_the_meter_starts_fresh(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "1200", W)
    entry = make_entry()
    entry.add_to_hass(ha)
    key = meter_store_key(HOUSE)
    hass_storage[key] = {
        "version": 1,
        "minor_version": 2,
        "key": key,
        "data": {"history": {"days": [["not", "a", "bucket"]]}},
    }
    meter = await setup(ha, entry)
    assert meter.recovered
    assert meter.history.days == {}
    issue = ir.async_get(ha).async_get_issue(DOMAIN, store_issue_id(HOUSE))
    assert issue is not None
    assert issue.translation_key == "store_recovered"
    assert hass_storage[key]["data"]["history"]["days"] == []


async def test_a_store_from_version_1_1_is_migrated(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = make_entry()
    entry.add_to_hass(ha)
    key = meter_store_key(HOUSE)
    start, end = day_bounds(date(2026, 11, 20), AMSTERDAM)
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"history": {"days": [[start, end - start, 7.5, 86400.0, 90.0, 2500.0, None]]}},
    }
    meter = await setup(ha, entry)
    assert not meter.recovered
    assert meter.history.days[start].kwh == 7.5
    assert meter.history.days[start].backfill == 0
    assert hass_storage[key]["minor_version"] == STORAGE_MINOR_VERSION


async def test_a_store_from_version_1_2_without_a_journal_keeps_its_history_and_open_bucket(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 4))
    entry = make_entry()
    entry.add_to_hass(ha)
    key = meter_store_key(HOUSE)
    start, end = day_bounds(date(2026, 11, 20), AMSTERDAM)
    ten = ts(2026, 11, 26, 11, 50)
    hass_storage[key] = {
        "version": 1,
        "minor_version": 2,
        "key": key,
        "data": {
            "history": {
                "days": [[start, end - start, 7.5, 86400.0, 90.0, 2500.0, None, 0.0]],
                "ten_minutes": [[ten, 600, 0.2, 600.0, 1200.0, 1200.0, None, 0.0]],
            },
            "accumulator": {
                "t": ts(2026, 11, 26, 12, 3),
                "open": ts(2026, 11, 26, 12, 0),
                "ws": 1200.0 * 180,
                "covered": 180.0,
                "min": 1200.0,
                "max": 1200.0,
                "cost": None,
            },
        },
    }
    meter = await setup(ha, entry)
    assert not meter.recovered
    assert meter.history.days[start].kwh == 7.5
    assert meter.history.ten_minutes[ten].kwh == 0.2
    open_bucket = meter.accumulator.open_bucket()
    assert open_bucket is not None
    assert open_bucket.covered == 180


def journal_path(hass: HomeAssistant) -> Path:
    return Path(hass.config.path(".storage", f"{meter_store_key(HOUSE)}.journal"))


async def test_a_boundary_appends_one_line_to_the_journal_and_leaves_the_snapshot_alone(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    await started_at(ha, freezer, at(2026, 11, 26, 11, 55))
    snapshot = copy.deepcopy(hass_storage[meter_store_key(HOUSE)])
    await move_to(at(2026, 11, 26, 12, 0))
    await move_to(at(2026, 11, 26, 12, 10))
    assert hass_storage[meter_store_key(HOUSE)] == snapshot
    lines = (await ha.async_add_executor_job(journal_path(ha).read_text)).splitlines()
    assert [[row[0] for row in json.loads(line)["b"]] for line in lines] == [
        [ts(2026, 11, 26, 11, 50)],
        [ts(2026, 11, 26, 12, 0)],
    ]


async def crash_and_start_again(
    hass: HomeAssistant, entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> PowerStatsMeter:
    """The power is cut now: HA starts again from the snapshot and journal on disk."""
    on_disk = copy.deepcopy(hass_storage[meter_store_key(HOUSE)])
    journal = journal_path(hass)
    lines = await hass.async_add_executor_job(_read_if_there, journal)
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[meter_store_key(HOUSE)] = on_disk  # not the save the unload made
    if lines is not None:
        await hass.async_add_executor_job(journal.write_bytes, lines)
    return await setup(hass, entry)


def _read_if_there(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def assert_whole_from_noon(meter: PowerStatsMeter, buckets: int) -> None:
    """The meter holds every 10-minute bucket from 12:00 on 2026-11-26, measured whole."""
    for minute in range(0, 10 * buckets, 10):
        assert meter.history.ten_minutes[ts(2026, 11, 26, 12, minute)].covered == 600


async def test_a_journal_line_that_could_not_be_written_is_carried_by_the_next_one(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 11, 55))
    await move_to(at(2026, 11, 26, 12, 0))
    journal = journal_path(ha)
    kept = journal.with_name("kept")
    await ha.async_add_executor_job(journal.rename, kept)
    await ha.async_add_executor_job(journal.mkdir)  # the 12:10 line cannot be appended
    await move_to(at(2026, 11, 26, 12, 10))
    await move_to(at(2026, 11, 26, 12, 20))
    assert caplog.text.count("Could not save the history of House") == 1
    await ha.async_add_executor_job(journal.rmdir)
    await ha.async_add_executor_job(kept.rename, journal)
    await move_to(at(2026, 11, 26, 12, 30))

    meter = await crash_and_start_again(ha, entry, hass_storage)

    assert_whole_from_noon(meter, buckets=3)


async def test_a_snapshot_that_could_not_be_written_keeps_the_journal_it_was_to_replace(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 11, 55))
    for minute in (0, 10, 20):
        await move_to(at(2026, 11, 26, 12, minute))
    with snapshots_fail():
        await meter_of(entry).async_save()  # as a backfill or an import saves
        await move_to(at(2026, 11, 26, 12, 30))
    assert await journal_lines(ha) == 4

    meter = await crash_and_start_again(ha, entry, hass_storage)

    assert_whole_from_noon(meter, buckets=3)


async def merge_while_snapshots_fail(meter: PowerStatsMeter, start: int) -> None:
    """Merge a backfilled bucket at `start` while the snapshot cannot be written."""
    with snapshots_fail(), pytest.raises(HomeAssistantError) as caught:
        await meter.async_merge_backfill(
            ten_minutes=[Bucket(start, 600, 0.05, 600, 300.0, 300.0, None, 600)]
        )
    assert caught.value.translation_key == "history_not_saved"
    assert meter.history.ten_minutes[start].backfill == 600  # kept in memory meanwhile


async def test_buckets_merged_while_the_snapshot_failed_are_saved_at_the_next_boundary(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 12, 0))
    await move_to(at(2026, 11, 26, 12, 10))
    gap = ts(2026, 11, 26, 11, 50)
    await merge_while_snapshots_fail(meter_of(entry), gap)
    await move_to(at(2026, 11, 26, 12, 20))  # not the meter's boundary of the day to fold

    meter = await crash_and_start_again(ha, entry, hass_storage)

    assert meter.history.ten_minutes[gap].backfill == 600
    assert_whole_from_noon(meter, buckets=2)


async def test_buckets_merged_while_the_snapshot_failed_are_in_the_final_write_at_shutdown(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 12, 0))
    await move_to(at(2026, 11, 26, 12, 5))
    gap = ts(2026, 11, 26, 11, 50)
    await merge_while_snapshots_fail(meter_of(entry), gap)
    ha.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await ha.async_block_till_done()
    saved = hass_storage[meter_store_key(HOUSE)]["data"]
    assert [row[0] for row in saved["history"]["ten_minutes"]] == [gap]
    assert saved["accumulator"]["covered"] == 300


async def test_a_boundary_with_nothing_measured_writes_nothing(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    await started_at(ha, freezer, at(2026, 11, 26, 11, 55), "unavailable")
    snapshot = copy.deepcopy(hass_storage[meter_store_key(HOUSE)])
    await move_to(at(2026, 11, 26, 12, 0))
    await move_to(at(2026, 11, 26, 12, 10))
    assert hass_storage[meter_store_key(HOUSE)] == snapshot
    assert not await ha.async_add_executor_job(journal_path(ha).exists)


async def journal_lines(hass: HomeAssistant) -> int:
    path = journal_path(hass)

    def count() -> int:
        return len(path.read_bytes().splitlines()) if path.exists() else 0

    return await hass.async_add_executor_job(count)


async def test_the_journal_is_folded_into_the_snapshot_once_a_day(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    start = at(2026, 11, 26, 0, 0)
    entry = await started_at(ha, freezer, start, "600")
    saved = copy.deepcopy(hass_storage[meter_store_key(HOUSE)])
    folds: list[datetime] = []
    for minutes in range(10, 2 * 24 * 60 + 1, 10):
        now = start + timedelta(minutes=minutes)
        await move_to(now)
        if hass_storage[meter_store_key(HOUSE)] != saved:
            folds.append(now)
            saved = copy.deepcopy(hass_storage[meter_store_key(HOUSE)])
            assert await journal_lines(ha) == 0
        assert await journal_lines(ha) < 144  # never more than a day of lines to replay
    assert len(folds) == 2
    assert folds[1] - folds[0] == timedelta(days=1)
    meter = meter_of(entry)
    assert meter.history.days[ts(2026, 11, 26, 0, 0)].kwh == pytest.approx(0.6 * 24)


async def test_meters_set_up_together_fold_their_journals_at_different_boundaries(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    start = at(2026, 11, 26, 0, 0)
    freezer.move_to(start)
    ha.states.async_set(SOURCE, "600", W)
    ha.states.async_set("sensor.solar", "-300", W)
    await setup(
        ha, make_entry(meters=[meter_subentry(), meter_subentry("sensor.solar", "Solar", "solar")])
    )
    keys = {meter_id: meter_store_key(f"subentry_{meter_id}") for meter_id in ("house", "solar")}
    saved = {m: copy.deepcopy(hass_storage[key]) for m, key in keys.items()}
    folds: dict[str, list[datetime]] = {m: [] for m in keys}
    for minutes in range(10, 24 * 60 + 1, 10):
        now = start + timedelta(minutes=minutes)
        await move_to(now)
        for meter_id, key in keys.items():
            if hass_storage[key] != saved[meter_id]:
                folds[meter_id].append(now)
                saved[meter_id] = copy.deepcopy(hass_storage[key])
    assert len(folds["house"]) == len(folds["solar"]) == 1
    assert folds["house"] != folds["solar"]


async def restarted_after_a_cut(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    snapshot: Any,
    journal: bytes,
) -> PowerStatsMeter:
    """The House meter started again after a power cut left `snapshot` and `journal`."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[meter_store_key(HOUSE)] = snapshot
    await hass.async_add_executor_job(journal_path(hass).write_bytes, journal)
    return await setup(hass, entry)


async def torn_at_ten_past_noon(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> tuple[MockConfigEntry, Any, PowerStatsMeter]:
    """Power was cut at 12:10 in the middle of writing that boundary's journal line; returns
    the entry, the snapshot the cut left and the meter started again."""
    entry = await started_at(hass, freezer, at(2026, 11, 26, 11, 55))
    await move_to(at(2026, 11, 26, 12, 0))
    await move_to(at(2026, 11, 26, 12, 10))
    snapshot = copy.deepcopy(hass_storage[meter_store_key(HOUSE)])
    whole = await hass.async_add_executor_job(journal_path(hass).read_bytes)
    meter = await restarted_after_a_cut(hass, entry, hass_storage, snapshot, whole[:-20])
    return entry, snapshot, meter


async def test_a_torn_last_journal_line_is_skipped_and_the_lines_before_it_kept(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    _, _, meter = await torn_at_ten_past_noon(ha, freezer, move_to, hass_storage)
    assert not meter.recovered
    assert meter.history.ten_minutes[ts(2026, 11, 26, 11, 50)].covered == 300
    # The bucket that line held closed at the cut: it is lost, like the open bucket.
    assert ts(2026, 11, 26, 12, 0) not in meter.history.ten_minutes


async def test_the_first_line_after_a_torn_one_survives_the_next_power_cut(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    entry, snapshot, _ = await torn_at_ten_past_noon(ha, freezer, move_to, hass_storage)
    await move_to(at(2026, 11, 26, 12, 20))  # its line is appended after the torn end
    on_disk = await ha.async_add_executor_job(journal_path(ha).read_bytes)
    # A second cut, before any snapshot: the journal is all there is of 12:10 to 12:20.
    meter = await restarted_after_a_cut(ha, entry, hass_storage, snapshot, on_disk)
    assert not meter.recovered
    assert meter.history.ten_minutes[ts(2026, 11, 26, 12, 10)].covered == 600


async def test_downtime_spanning_a_whole_bucket_is_never_filled_in(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 12, 0), "1000")
    await move_to(at(2026, 11, 26, 12, 5))
    assert await ha.config_entries.async_unload(entry.entry_id)
    freezer.move_to(at(2026, 11, 26, 12, 25) + timedelta(seconds=0))
    meter = await setup(ha, entry)
    await move_to(at(2026, 11, 26, 12, 30))
    ten = meter.history.ten_minutes
    assert ten[ts(2026, 11, 26, 12, 0)].covered == 300
    assert ts(2026, 11, 26, 12, 10) not in ten
    assert ten[ts(2026, 11, 26, 12, 20)].covered == 300


async def test_a_missing_store_of_a_meter_that_saved_before_is_reported(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 12, 0))
    assert not meter_of(entry).recovered
    assert entry.subentries[HOUSE].data["stored"] is True
    assert await ha.config_entries.async_unload(entry.entry_id)
    del hass_storage[meter_store_key(HOUSE)]  # the file is lost
    meter = await setup(ha, entry)
    assert meter.recovered
    issue = ir.async_get(ha).async_get_issue(DOMAIN, store_issue_id(HOUSE))
    assert issue is not None
    assert issue.translation_key == "store_missing"


async def first_start_while_snapshots_fail(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> MockConfigEntry:
    """The House meter's first start at 11:55, its first snapshot failing (a full disk)."""
    with snapshots_fail():
        entry = await started_at(hass, freezer, at(2026, 11, 26, 11, 55))
    assert meter_store_key(HOUSE) not in hass_storage
    return entry


async def test_a_meter_whose_first_snapshot_failed_is_not_marked_stored(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    entry = await first_start_while_snapshots_fail(ha, freezer, hass_storage)
    assert not entry.subentries[HOUSE].data.get("stored")
    # The power is cut: the disk holds no snapshot, as it never did.
    assert await ha.config_entries.async_unload(entry.entry_id)
    del hass_storage[meter_store_key(HOUSE)]  # the stop's save, which the cut prevented

    meter = await setup(ha, entry)

    assert not meter.recovered
    assert ir.async_get(ha).async_get_issue(DOMAIN, store_issue_id(HOUSE)) is None


async def test_a_meter_whose_first_snapshot_failed_writes_one_at_the_next_boundary(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    entry = await first_start_while_snapshots_fail(ha, freezer, hass_storage)
    running = meter_of(entry)
    with snapshots_fail():
        await move_to(at(2026, 11, 26, 12, 0))  # still failing: tried again at the next
    assert meter_store_key(HOUSE) not in hass_storage
    await move_to(at(2026, 11, 26, 12, 10))  # not the meter's boundary of the day to fold
    assert entry.subentries[HOUSE].data["stored"] is True
    assert meter_of(entry) is running  # noting the mark did not reload the dataset

    meter = await crash_and_start_again(ha, entry, hass_storage)

    assert not meter.recovered
    assert meter.history.ten_minutes[ts(2026, 11, 26, 11, 50)].covered == 300
    assert meter.history.ten_minutes[ts(2026, 11, 26, 12, 0)].covered == 600


async def test_a_first_start_without_a_store_is_not_reported(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    meter = await setup(ha, make_entry())
    assert not meter.recovered
    assert not ir.async_get(ha).issues


async def test_backfilled_buckets_land_in_the_gap_and_show_in_the_files(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    meter = meter_of(await started_at(ha, freezer, at(2026, 11, 26, 12, 0), "600"))
    await move_to(at(2026, 11, 26, 12, 10))
    own = meter.history.ten_minutes[ts(2026, 11, 26, 12, 0)]
    gap = ts(2026, 11, 26, 11, 50)
    landed = await meter.async_merge_backfill(
        ten_minutes=[
            Bucket(gap, 600, 0.05, 600, 300.0, 300.0, None, 600),
            Bucket(ts(2026, 11, 26, 12, 0), 600, 9.0, 600, 1.0, 1.0, None, 600),
        ]
    )
    assert landed == 1
    assert meter.history.ten_minutes[ts(2026, 11, 26, 12, 0)] == own
    daily = json.loads(await read_file(ha, "powerstats/house/daily.json"))
    assert daily["columns"][-1] == "backfill"
    rows = {row[0]: row for row in daily["rows"]}
    assert rows[gap][1] == 0.05
    assert rows[gap][-1] == 1
    assert rows[ts(2026, 11, 26, 12, 0)][-1] == 0


async def test_removing_powerstats_drops_every_store_and_repair_issue(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = make_entry()
    entry.add_to_hass(ha)
    key = meter_store_key(HOUSE)
    hass_storage[key] = {"version": 1, "minor_version": 2, "key": key, "data": {"history": 1}}
    await setup(ha, entry)
    assert ir.async_get(ha).async_get_issue(DOMAIN, store_issue_id(HOUSE)) is not None
    await ha.config_entries.async_remove(entry.entry_id)
    await ha.async_block_till_done()
    assert key not in hass_storage
    assert ir.async_get(ha).async_get_issue(DOMAIN, store_issue_id(HOUSE)) is None


async def test_powerstats_added_again_sets_the_files_it_left_aside_instead_of_over_them(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 12, 0))
    await move_to(at(2026, 11, 26, 12, 10))
    folder = Path(ha.config.path("powerstats"))
    assert await ha.config_entries.async_reload(entry.entry_id)  # its own files: written over
    assert await ha.async_add_executor_job(asides, folder) == []
    await ha.config_entries.async_remove(entry.entry_id)  # the copy is brought up to date
    await ha.async_block_till_done()
    left = await ha.async_add_executor_job(files_below, folder)
    assert "house/yearly.json" in left

    await setup(ha, make_entry(entry_id="01JPOWERSTATSAGAIN0000000000"))

    (aside,) = await ha.async_add_executor_job(asides, folder)
    assert await ha.async_add_executor_job(files_below, aside) == left
    now = await ha.async_add_executor_job(files_below, folder)
    assert now["manifest.json"] != left["manifest.json"]


async def test_a_dataset_whose_first_snapshots_failed_keeps_its_own_files_after_a_stop_saved_it(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    entry = await first_start_while_snapshots_fail(ha, freezer, hass_storage)
    with snapshots_fail():
        await move_to(at(2026, 11, 26, 12, 0))
    assert await ha.config_entries.async_unload(entry.entry_id)  # this stop's save works
    assert meter_store_key(HOUSE) in hass_storage
    assert not entry.subentries[HOUSE].data.get("stored")  # noted at the next start
    folder = Path(ha.config.path("powerstats"))
    assert "manifest.json" in await ha.async_add_executor_job(files_below, folder)

    meter = await setup(ha, entry)

    assert await ha.async_add_executor_job(asides, folder) == []
    assert entry.subentries[HOUSE].data["stored"] is True
    assert not meter.recovered
    assert meter.history.ten_minutes[ts(2026, 11, 26, 11, 50)].covered == 300


def asides(folder: Path) -> list[Path]:
    return sorted(folder.parent.glob(f"{folder.name}.before-*"))


def files_below(folder: Path) -> dict[str, bytes]:
    """Every file below `folder`, by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


async def test_a_new_time_zone_restarts_the_dataset_in_it_with_every_hour_in_one_day(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    start = at(2026, 11, 25, 0, 0)
    entry = await started_at(ha, freezer, start, "1000")
    for hours in range(1, 37):
        await move_to(start + timedelta(hours=hours))  # to 11-26 12:00 in Amsterdam

    await ha.config.async_update(time_zone="America/New_York")
    await ha.async_block_till_done()
    for minutes in range(10, 121, 10):
        await move_to(start + timedelta(hours=36, minutes=minutes))

    new_york = ZoneInfo("America/New_York")
    assert meter_of(entry).tz == new_york  # started again in the new zone
    yearly = json.loads(served(ha, "house/yearly.json"))
    assert yearly["timezone"] == "America/New_York"
    kwh = {
        datetime.fromtimestamp(row[0], new_york).date(): row[1]
        for row in yearly["rows"]
        if row[1] is not None
    }
    # 38 hours of a kilowatt, each in the New York day it fell in (the file's row of today
    # follows by the hour: the sensors have it now).
    assert kwh[date(2026, 11, 24)] == pytest.approx(6.0)
    assert kwh[date(2026, 11, 25)] == pytest.approx(24.0)
    assert set(kwh) == {date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)}
    totals = meter_of(entry).totals
    assert totals.energy_today == pytest.approx(8.0)
    assert totals.energy_month == pytest.approx(38.0)


async def test_days_older_than_the_kept_hours_keep_their_dates_in_a_new_zone(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry = await started_at(ha, freezer, at(2026, 11, 26, 12, 0), "1000")
    old_day = Bucket(ts(2026, 11, 2, 0, 0), 86400, 7.5, 86400, 100, 900, None, 86400)
    await meter_of(entry).async_merge_backfill(days=[old_day])

    await ha.config.async_update(time_zone="Asia/Kathmandu")
    await ha.async_block_till_done()

    kathmandu = ZoneInfo("Asia/Kathmandu")
    days = meter_of(entry).history.days
    moved = days[int(datetime(2026, 11, 2, tzinfo=kathmandu).timestamp())]
    assert (moved.kwh, moved.covered) == (7.5, 86400)
    assert ts(2026, 11, 2, 0, 0) not in days


async def started_in_kathmandu_and_moved_to_utc(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> tuple[MockConfigEntry, datetime]:
    """A kilowatt measured from midnight on 2026-11-25 in Kathmandu (+05:45) for 36 hours and 3
    minutes, when HA's time zone became UTC (06:18 there, in the middle of a bucket of either
    zone); returns the entry and the moment of the change."""
    await hass.config.async_set_time_zone("Asia/Kathmandu")
    start = datetime(2026, 11, 25, 0, 0, tzinfo=ZoneInfo("Asia/Kathmandu"))
    entry = await started_at(hass, freezer, start, "1000")
    for minutes in [*range(10, 36 * 60 + 1, 10), 36 * 60 + 3]:
        await move_to(start + timedelta(minutes=minutes))
    await hass.config.async_update(time_zone="UTC")
    await hass.async_block_till_done()
    return entry, start + timedelta(hours=36, minutes=3)


def rows_with_data(path: str, hass: HomeAssistant) -> list[list[Any]]:
    return [row for row in json.loads(served(hass, path))["rows"] if row[1] is not None]


async def test_after_a_move_by_part_of_an_hour_the_views_show_every_kept_bucket(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    entry, changed = await started_in_kathmandu_and_moved_to_utc(ha, freezer, move_to)
    for minutes in range(10, 121, 10):
        await move_to(changed + timedelta(minutes=minutes))  # to 08:18 on 11-26 in UTC

    daily = json.loads(served(ha, "house/daily.json"))["rows"]
    # From midnight yesterday (UTC) to the open bucket, every 10 minutes whole: the buckets of
    # either side of the change alike (those from Kathmandu spread over the UTC grid).
    assert daily[0][0] == int(datetime(2026, 11, 25, tzinfo=UTC).timestamp())
    assert [(row[1], row[5]) for row in daily[:-1]] == [(0.1667, 1)] * (len(daily) - 1)
    assert daily[-1][1] is None  # the open one
    weekly = rows_with_data("house/weekly.json", ha)
    # Kathmandu's midnight was 18:15 UTC: the first UTC hour holds its last 45 minutes.
    assert weekly[0][0] == int(datetime(2026, 11, 24, 18, tzinfo=UTC).timestamp())
    assert [(row[1], row[5]) for row in weekly] == [(0.75, 0.75)] + [(1, 1)] * 37
    yearly = {row[0]: row[1] for row in rows_with_data("house/yearly.json", ha)}
    assert yearly == {
        int(datetime(2026, 11, 24, tzinfo=UTC).timestamp()): 5.75,
        int(datetime(2026, 11, 25, tzinfo=UTC).timestamp()): 24,
        int(datetime(2026, 11, 26, tzinfo=UTC).timestamp()): 7,  # closed hours only
    }
    assert meter_of(entry).totals.energy_today == pytest.approx(8 + 1 / 6)


async def test_a_crash_after_a_move_by_part_of_an_hour_keeps_every_bucket_on_the_new_grid(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    entry, changed = await started_in_kathmandu_and_moved_to_utc(ha, freezer, move_to)
    for minutes in range(10, 31, 10):
        await move_to(changed + timedelta(minutes=minutes))  # to 06:48 on 11-26 in UTC

    meter = await crash_and_start_again(ha, entry, hass_storage)

    ten = meter.history.ten_minutes
    first = int(datetime(2026, 11, 24, 18, 10, tzinfo=UTC).timestamp())
    last = int(datetime(2026, 11, 26, 6, 30, tzinfo=UTC).timestamp())
    assert list(ten) == list(range(first, last + 1, 600))
    assert ten[first].covered == pytest.approx(300)  # Kathmandu's midnight was 18:15 UTC
    assert [ten[start].covered for start in range(first + 600, last + 1, 600)] == pytest.approx(
        [600] * ((last - first) // 600)
    )
