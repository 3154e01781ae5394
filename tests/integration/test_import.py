"""Export and import through the actions of a real HA core: lossless moves, bad files refused."""

from __future__ import annotations

import copy
import json
import shutil
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from custom_components.powerstats import services
from custom_components.powerstats.const import DOMAIN
from custom_components.powerstats.core import export_file
from custom_components.powerstats.core.accounting import Bucket, Kind, MeterAccumulator
from custom_components.powerstats.core.export_file import ExportedBuckets, to_json
from custom_components.powerstats.core.rollup import History
from custom_components.powerstats.meter import PowerStatsMeter

from .conftest import (
    AMSTERDAM,
    SOURCE,
    Clock,
    add_meter,
    at,
    make_entry,
    meter_device,
    meter_of,
    meter_subentry,
    snapshots_fail,
)

NOW = at(2026, 11, 26, 12, 0)
OTHER = "sensor.new_house_power"
W = {"unit_of_measurement": "W"}


async def start_meter(hass: HomeAssistant, **kwargs: Any) -> PowerStatsMeter:
    entry = make_entry(options={"backfill": False}, **kwargs)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return meter_of(entry)


def past(start: float, end: float) -> History:
    """An uneven load over [start, end), bucketed as live tracking would (floats with tails)."""
    acc = MeterAccumulator(Kind.POWER, AMSTERDAM, start)
    history = History(AMSTERDAM)
    t, watts = start, 321.123
    while t < end:
        for bucket in acc.feed(t, repr(watts), "W"):
            history.add(bucket)
        t += 173
        watts = (watts * 1.37) % 2800 + 0.3
    for bucket in acc.advance(end):
        history.add(bucket)
    return history


def marked(buckets: Mapping[int, Bucket]) -> list[Bucket]:
    return [
        Bucket(b.start, b.seconds, b.kwh, b.covered, b.min_w, b.max_w, b.cost, b.covered)
        for b in buckets.values()
    ]


async def call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


@pytest.fixture
async def house(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> PowerStatsMeter:
    """A meter with 12 days of imported history and half an hour tracked live."""
    freezer.move_to(NOW)
    ha.states.async_set(SOURCE, "640", W)
    meter = await start_meter(ha)
    old = past((NOW - timedelta(days=12)).timestamp(), NOW.timestamp())
    landed = await meter.async_merge_backfill(
        ten_minutes=marked(old.ten_minutes), hours=marked(old.hours), days=marked(old.days)
    )
    assert landed > 0
    await move_to(NOW + timedelta(minutes=30))
    return meter


async def export_all(hass: HomeAssistant, file_format: str) -> list[str]:
    paths = []
    for level in ("daily", "weekly", "yearly"):
        response = await call(
            hass,
            "export",
            meter=meter_device(hass, "house"),
            level=level,
            start="2026-01-01",
            end="2026-11-26",
            format=file_format,
        )
        paths.append(str(Path(response["path"]).relative_to(hass.config.config_dir)))
    return paths


async def new_house(hass: HomeAssistant, house: PowerStatsMeter) -> PowerStatsMeter:
    """A second meter, New house, with no history: where the House's exports are imported."""
    hass.states.async_set(OTHER, "0", W)
    return await add_meter(
        hass, house.entry, meter_subentry(OTHER, "New house", "new_house", backfill=False)
    )


@pytest.mark.parametrize("file_format", ["json", "csv"])
async def test_exporting_every_level_and_importing_into_a_fresh_meter_gives_the_same_buckets(
    ha: HomeAssistant, house: PowerStatsMeter, file_format: str
) -> None:
    paths = await export_all(ha, file_format)
    fresh = await new_house(ha, house)
    for path in paths:
        await call(ha, "import", meter=meter_device(ha, "new_house"), path=path)
    assert fresh.history.ten_minutes == house.history.ten_minutes
    assert fresh.history.hours == house.history.hours
    assert fresh.history.days == house.history.days


async def test_importing_the_same_file_twice_changes_nothing(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    (daily, *_) = await export_all(ha, "json")
    fresh = await new_house(ha, house)
    first = await call(ha, "import", meter=meter_device(ha, "new_house"), path=daily)
    before = fresh.history.to_json()
    second = await call(ha, "import", meter=meter_device(ha, "new_house"), path=daily)
    assert first["landed_buckets"] > 0
    assert second["landed_buckets"] == 0
    assert fresh.history.to_json() == before


async def test_an_import_never_overwrites_buckets_the_meter_recorded_itself(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    (daily, *_) = await export_all(ha, "csv")
    live = house.history.ten_minutes[int(NOW.timestamp())]
    text = read(ha, daily)
    start = str(int(NOW.timestamp()))
    lines = [
        line.replace(f"10min,{start},600,", f"10min,{start},600,99", 1) for line in text.split("\n")
    ]
    changed = write(ha, "changed.csv", "\n".join(lines))
    await call(ha, "import", meter=meter_device(ha), path=changed)
    assert house.history.ten_minutes[int(NOW.timestamp())] == live


async def test_an_import_that_could_not_be_saved_says_so_and_keeps_its_buckets_in_memory(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    (daily, *_) = await export_all(ha, "json")
    fresh = await new_house(ha, house)
    with snapshots_fail(fresh.subentry_id), pytest.raises(HomeAssistantError) as caught:
        await call(ha, "import", meter=meter_device(ha, "new_house"), path=daily)
    assert caught.value.translation_key == "history_not_saved"
    assert caught.value.translation_placeholders == {"meter": "New house"}
    assert any(day.backfill for day in fresh.history.days.values())


async def test_an_import_whose_files_cannot_be_written_is_kept_and_its_files_follow(
    ha: HomeAssistant, house: PowerStatsMeter, move_to: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    (daily, *_) = await export_all(ha, "json")
    await new_house(ha, house)
    folder = Path(ha.config.path("powerstats"))  # a file where the folder was: no copy lands
    await ha.async_add_executor_job(shutil.rmtree, folder)
    await ha.async_add_executor_job(folder.write_text, "")

    response = await call(ha, "import", meter=meter_device(ha, "new_house"), path=daily)

    # Merged and saved: only the folder's copy lags, as at any boundary, and a re-run would
    # land nothing, so the action does not fail.
    assert response["landed_buckets"] > 0
    assert "Could not copy the PowerStats files" in caplog.text
    await ha.async_add_executor_job(folder.unlink)
    await move_to(NOW + timedelta(minutes=40))
    weekly = Path(ha.config.path("powerstats", "new_house", "weekly.json"))
    assert "backfill" in json.loads(await ha.async_add_executor_job(weekly.read_text))["columns"]


def read(hass: HomeAssistant, path: str) -> str:
    return Path(hass.config.path(path)).read_text()


def write(hass: HomeAssistant, name: str, data: str | bytes) -> str:
    path = Path(hass.config.path("powerstats_exports", name))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return f"powerstats_exports/{name}"


async def refused(
    hass: HomeAssistant, meter: PowerStatsMeter, path: str, hass_storage: dict[str, Any]
) -> ServiceValidationError:
    history = meter.history.to_json()
    stored = copy.deepcopy(hass_storage.get(meter.store.key))
    with pytest.raises(ServiceValidationError) as caught:
        await call(hass, "import", meter=meter_device(hass, meter.config.meter_id), path=path)
    assert meter.history.to_json() == history
    assert hass_storage.get(meter.store.key) == stored
    return caught.value


async def test_an_import_read_while_its_meter_reloads_merges_nothing_over_the_new_meters_store(
    ha: HomeAssistant, house: PowerStatsMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    (daily, *_) = await export_all(ha, "json")
    fresh = await new_house(ha, house)
    reading, release = threading.Event(), threading.Event()
    read_import = services._read_import

    def held_read(path: Path) -> bytes | None:
        reading.set()
        release.wait(30)
        return read_import(path)

    monkeypatch.setattr(services, "_read_import", held_read)
    importing = ha.async_create_task(
        call(ha, "import", meter=meter_device(ha, "new_house"), path=daily)
    )
    assert await ha.async_add_executor_job(reading.wait, 30)  # the read has started
    assert await ha.config_entries.async_reload(house.entry.entry_id)
    reloaded = meter_of(house.entry, "new_house")
    release.set()

    with pytest.raises(HomeAssistantError) as stopped:
        await importing
    assert stopped.value.translation_key == "meter_stopped"
    assert fresh.history.ten_minutes == {}
    assert reloaded.history.ten_minutes == {}


async def test_an_import_file_is_checked_off_the_event_loop(
    ha: HomeAssistant, house: PowerStatsMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file of up to 64 MB: checked on the event loop, it would hold Home Assistant meanwhile.
    (daily, *_) = await export_all(ha, "json")
    checked_on: list[threading.Thread] = []

    def watched_parse(*args: Any, **kwargs: Any) -> ExportedBuckets:
        checked_on.append(threading.current_thread())
        return export_file.parse(*args, **kwargs)

    monkeypatch.setattr(services, "parse", watched_parse)
    await call(ha, "import", meter=meter_device(ha), path=daily)
    assert checked_on
    assert checked_on[0] is not threading.main_thread()
    assert ha.loop_thread_id != checked_on[0].ident


async def test_a_truncated_file_is_refused_with_a_translated_error_and_nothing_stored(
    ha: HomeAssistant, house: PowerStatsMeter, hass_storage: dict[str, Any]
) -> None:
    paths = await export_all(ha, "json")
    text = read(ha, paths[0])
    error = await refused(ha, house, write(ha, "cut.json", text[: len(text) // 2]), hass_storage)
    assert error.translation_key == "import_truncated"
    assert "powerstats_exports/cut.json is incomplete" in str(error)
    assert "nothing was imported" in str(error)


async def test_a_csv_file_cut_at_a_line_is_refused_as_truncated(
    ha: HomeAssistant, house: PowerStatsMeter, hass_storage: dict[str, Any]
) -> None:
    paths = await export_all(ha, "csv")
    lines = read(ha, paths[0]).splitlines(keepends=True)
    path = write(ha, "cut.csv", "".join(lines[: len(lines) // 3]))
    error = await refused(ha, house, path, hass_storage)
    assert error.translation_key == "import_truncated"


async def test_a_malformed_file_is_refused_with_a_translated_error_and_nothing_stored(
    ha: HomeAssistant, house: PowerStatsMeter, hass_storage: dict[str, Any]
) -> None:
    path = write(ha, "notes.json", '{"rows": [1, 2, 3]')
    error = await refused(ha, house, path, hass_storage)
    assert error.translation_key in {"import_malformed", "import_truncated"}
    error = await refused(ha, house, write(ha, "notes.txt", "kwh per day\n1;2;3\n"), hass_storage)
    assert error.translation_key == "import_malformed"
    assert "is not a PowerStats export file" in str(error)


async def test_a_hostile_file_is_refused_as_malformed_with_its_values_cut_short(
    ha: HomeAssistant, house: PowerStatsMeter, hass_storage: dict[str, Any]
) -> None:
    nested = write(ha, "nested.json", '{"rows": ' + "[" * 100_000 + "]" * 100_000 + "}")
    error = await refused(ha, house, nested, hass_storage)
    assert error.translation_key == "import_malformed"
    assert "nested too deeply" in str(error)
    paths = await export_all(ha, "json")
    zone = "Europe/" + "x" * 1_000_000
    text = read(ha, paths[0]).replace('"timezone":"Europe/Amsterdam"', f'"timezone":"{zone}"')
    error = await refused(ha, house, write(ha, "zone.json", text), hass_storage)
    assert error.translation_key == "import_wrong_timezone"
    assert error.translation_placeholders is not None
    assert error.translation_placeholders["file_timezone"] == zone[:39] + "…"
    assert len(str(error)) < 400


async def test_a_file_in_the_wrong_unit_is_refused_with_a_translated_error_and_nothing_stored(
    ha: HomeAssistant, house: PowerStatsMeter, hass_storage: dict[str, Any]
) -> None:
    paths = await export_all(ha, "csv")
    text = read(ha, paths[2])
    path = write(ha, "wh.csv", text.replace("level,start,seconds,kwh,", "level,start,seconds,wh,"))
    error = await refused(ha, house, path, hass_storage)
    assert error.translation_key == "import_wrong_unit"
    assert "energy in kWh" in str(error)


async def test_an_export_names_its_currency_and_costs_in_another_are_refused(
    ha: HomeAssistant, house: PowerStatsMeter, hass_storage: dict[str, Any]
) -> None:
    (daily, _, _) = await export_all(ha, "json")
    assert json.loads(read(ha, daily))["currency"] == "EUR"
    fresh = await new_house(ha, house)
    day = replace(next(iter(house.history.days.values())), cost=1.25)
    dollars = ExportedBuckets("house", "power", "Europe/Amsterdam", "USD", days=(day,))
    path = write(ha, "dollars.json", to_json(dollars, "2026-11-26T12:00:00+01:00"))
    error = await refused(ha, fresh, path, hass_storage)
    assert error.translation_key == "import_wrong_currency"
    assert "holds costs in USD; this Home Assistant counts in EUR" in str(error)
    assert fresh.history.days == {}


async def test_a_file_with_one_bad_row_imports_none_of_its_rows(
    ha: HomeAssistant, house: PowerStatsMeter, hass_storage: dict[str, Any]
) -> None:
    paths = await export_all(ha, "csv")
    lines = read(ha, paths[2]).splitlines(keepends=True)
    cells = lines[-2].split(",")
    cells[4] = "999999"  # covered seconds longer than the day
    lines[-2] = ",".join(cells)
    fresh = await new_house(ha, house)
    error = await refused(ha, fresh, write(ha, "bad.csv", "".join(lines)), hass_storage)
    assert error.translation_key == "import_invalid_row"
    assert fresh.history.days == {}


async def test_a_path_outside_the_config_folder_is_refused(
    ha: HomeAssistant, house: PowerStatsMeter, hass_storage: dict[str, Any]
) -> None:
    error = await refused(ha, house, "../../etc/passwd", hass_storage)
    assert error.translation_key == "import_path_not_allowed"
    error = await refused(ha, house, "powerstats_exports/missing.json", hass_storage)
    assert error.translation_key == "import_file_not_found"
