"""The views (views.py): the four level files and the manifest, exactly per the contract."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from custom_components.powerstats.core.accounting import Bucket, Kind, MeterAccumulator
from custom_components.powerstats.core.rollup import History
from custom_components.powerstats.core.timegrid import day_bounds, day_start, ten_minute_start
from custom_components.powerstats.core.views import (
    LEVELS,
    WINDOW,
    FileEntry,
    ManifestMeter,
    MeterInfo,
    MeterViews,
    bucket_row,
    level_path,
    render_level,
    render_manifest,
    rows_between,
    sha256_hex,
)

from ..household import household_events

AMS = ZoneInfo("Europe/Amsterdam")
SCHEMA = json.loads(
    (Path(__file__).parents[3] / "schemas" / "powerstats-1.schema.json").read_text()
)
INFO = MeterInfo("house", "House", "sensor.house_power", "power", "Europe/Amsterdam", "EUR", True)


def validate(data: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(data)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    for row in doc.get("rows", []):
        assert len(row) == len(doc["columns"])
    starts = [row[0] for row in doc.get("rows", [])]
    assert starts == sorted(set(starts))
    return doc


def local_day_start(t: float) -> int:
    return day_start(t, AMS)


def two_household_days() -> tuple[History, float]:
    start = datetime(2026, 11, 25, tzinfo=AMS).timestamp()
    end = start + 2 * 86400
    acc = MeterAccumulator(Kind.POWER, AMS, start)
    acc.set_price(start, 0.27)
    history = History(AMS)
    for e in household_events(start, 2 * 86400 - 3600, seed=3):
        for bucket in acc.feed(e.t, e.state, "W"):
            history.add(bucket)
    for bucket in acc.feed(end - 3600, "unavailable", "W") + acc.advance(end):
        history.add(bucket)
    return history, end


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_file_validates_and_holds_every_bucket_of_its_window(level: str) -> None:
    history, end = two_household_days()
    doc = validate(render_level(INFO, level, history, end))  # type: ignore[arg-type]
    if level == "daily":
        yesterday = local_day_start(end) - 86400
        assert len(doc["rows"]) == (ten_minute_start(end, AMS) - yesterday) // 600 + 1
    else:
        assert len(doc["rows"]) == WINDOW[level]  # type: ignore[index]
    assert doc["columns"][-1] == "cost"
    empty = [row for row in doc["rows"] if row[5] == 0]
    assert empty, "the window reaches back before the first measurement"
    assert all(row[1:5] == [None] * 4 and row[6] is None for row in empty)


def test_a_manifest_validates_and_lists_hash_and_size_of_each_file() -> None:
    history, end = two_household_days()
    files = []
    for level in LEVELS:
        data = render_level(INFO, level, history, end)
        files.append(
            FileEntry(
                level,
                level_path("house", level),
                sha256_hex(data),
                len(data),
                "2026-11-27T00:00:00+01:00",
            )
        )
    manifest = render_manifest(
        [ManifestMeter(INFO, tuple(files))], "2026-11-27T00:00:00+01:00", refresh_seconds=600
    )
    doc = validate(manifest)
    assert doc["meters"][0]["files"]["yearly"]["path"] == "house/yearly.json"
    assert set(doc["meters"][0]["files"]) == set(LEVELS)


def test_numbers_are_rounded_per_the_contract() -> None:
    bucket = Bucket(0, 600, 0.123456, 599.0, 12.345, 99.99, 0.0333333, 0)
    row = bucket_row(0, 600, bucket, priced=True, backfill=False)
    assert row == [0, 0.1235, 742, 12.3, 100, 0.998, 0.0333]


def test_rendering_twice_at_the_same_moment_gives_the_same_bytes() -> None:
    history, end = two_household_days()
    assert render_level(INFO, "daily", history, end) == render_level(INFO, "daily", history, end)


def test_a_backfilled_bucket_adds_the_backfill_column() -> None:
    history, end = two_household_days()
    first = min(history.ten_minutes) - 600
    history.merge_external(end, ten_minutes=[Bucket(first, 600, 0.01, 600, 60, 60, None, 600)])
    doc = validate(render_level(INFO, "weekly", history, end))
    assert doc["columns"][-1] == "backfill"
    backfilled = [row for row in doc["rows"] if row[-1]]
    assert [row[0] for row in backfilled] == [first - 3000]
    assert backfilled[0][-1] == 1
    assert backfilled[0][5] == round(600 / 3600, 3)


def test_monthly_rows_start_at_local_midnight_including_the_25_hour_day() -> None:
    start, _ = day_bounds(date(2026, 10, 24), AMS)
    acc = MeterAccumulator(Kind.POWER, AMS, start)
    history = History(AMS)
    end = day_bounds(date(2026, 10, 27), AMS)[0]
    for bucket in acc.feed(start, "100", "W") + acc.advance(end):
        history.add(bucket)
    doc = validate(render_level(INFO, "monthly", history, end - 1))
    by_day = {datetime.fromtimestamp(r[0], AMS).date(): r for r in doc["rows"]}
    assert by_day[date(2026, 10, 25)][1] == 2.5
    assert all(datetime.fromtimestamp(r[0], AMS).hour == 0 for r in doc["rows"])


def test_export_rows_cover_every_hour_of_the_range() -> None:
    history, _ = two_household_days()
    cols, rows = rows_between("hour", history, date(2026, 11, 25), date(2026, 11, 26), priced=False)
    assert cols == ["start", "kwh", "mean_w", "min_w", "max_w", "coverage"]
    assert len(rows) == 48
    assert all(r[5] == 1 for r in rows[:-1])


LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # moves its clock by half an hour


def steady(tz: ZoneInfo, start: float, end: float) -> History:
    """A history of a steady kilowatt over [start, end)."""
    acc = MeterAccumulator(Kind.POWER, tz, start)
    history = History(tz)
    for bucket in acc.feed(start, "1000", "W") + acc.advance(end):
        history.add(bucket)
    return history


@pytest.mark.parametrize("change", [date(2026, 10, 4), date(2026, 4, 5)])
def test_the_week_across_a_half_hour_clock_change_holds_every_hour_it_lived(change: date) -> None:
    start = day_bounds(change - timedelta(days=2), LORD_HOWE)[0]
    as_of = start + 7 * 86400
    history = steady(LORD_HOWE, start, as_of)
    info = replace(INFO, timezone="Australia/Lord_Howe")
    doc = validate(render_level(info, "weekly", history, as_of))
    starts = [row[0] for row in doc["rows"]]
    closed = doc["rows"][:-1]  # the newest hour is the open one
    assert len(doc["rows"]) == WINDOW["weekly"]
    assert all(row[5] == 1 for row in closed)
    # Each row lasts until the next one starts, and holds a kilowatt for that long.
    assert [row[1] for row in closed] == [(b - a) / 3600 for a, b in itertools.pairwise(starts)]
    assert sorted({b - a for a, b in itertools.pairwise(starts)}) == [1800, 3600]


def test_today_s_row_takes_in_the_half_hour_after_a_clock_change_once_it_has_passed() -> None:
    day = date(2026, 4, 5)  # the clock goes back half an hour at 02:00, to 01:30
    begin = day_bounds(day, LORD_HOWE)[0]
    cut = begin + 2 * 3600  # the change: the hour after it lasts until 02:00, 30 minutes on
    history = steady(LORD_HOWE, begin, cut + 1800)
    info = replace(INFO, timezone="Australia/Lord_Howe")
    today = validate(render_level(info, "monthly", history, cut + 1800))["rows"][-1]
    assert today[0] == begin
    assert today[1] == 2.5  # two whole hours and the half hour, a kilowatt throughout


def test_an_export_of_a_day_whose_clock_moves_half_an_hour_holds_each_of_its_hours() -> None:
    day = date(2026, 10, 4)
    history = steady(LORD_HOWE, *day_bounds(day, LORD_HOWE))
    _, rows = rows_between("hour", history, day, day, priced=False)
    assert len(rows) == 24  # 23.5 hours: 23 whole and the one the clock moved in
    assert all(r[5] == 1 for r in rows)
    assert math.fsum(r[1] for r in rows) == pytest.approx(23.5)


def test_kept_rows_give_the_bytes_of_a_full_render_as_buckets_arrive_change_and_backfill() -> None:
    start = datetime(2026, 10, 24, tzinfo=AMS).timestamp()  # across the DST fall-back day
    acc = MeterAccumulator(Kind.POWER, AMS, start)
    acc.set_price(start, 0.27)
    history = History(AMS)
    unpriced = MeterInfo("house", "House", "sensor.house_power", "power", "UTC", None, False)
    kept = {INFO: MeterViews(), unpriced: MeterViews()}
    for n, e in enumerate(household_events(start, 3 * 86400, seed=4)):
        for bucket in acc.feed(e.t, e.state, "W"):
            history.add(bucket)
            as_of = bucket.start + bucket.seconds
            if n % 50 == 0 or as_of % 3600 == 0:
                for info, views in kept.items():
                    for level in LEVELS:
                        assert views.render(info, level, history, as_of) == render_level(
                            info, level, history, as_of
                        ), (level, info.priced, as_of)
    end = start + 3 * 86400
    old_start, old_end = day_bounds(date(2026, 10, 1), AMS)
    history.merge_external(
        end, days=[Bucket(old_start, old_end - old_start, 3.0, 600.0, 90.0, 200.0, None, 600.0)]
    )
    views = MeterViews()
    for level in LEVELS:
        views.render(INFO, level, history, end - 600)
        assert views.render(INFO, level, history, end) == render_level(INFO, level, history, end)


def test_daily_runs_from_yesterday_s_local_midnight_to_the_open_bucket() -> None:
    history, end = two_household_days()
    doc = validate(render_level(INFO, "daily", history, end))
    starts = [row[0] for row in doc["rows"]]
    yesterday = day_bounds(datetime.fromtimestamp(end, AMS).date() - timedelta(days=1), AMS)[0]
    assert starts[0] == yesterday
    assert starts[-1] == ten_minute_start(end, AMS)
    assert all(b - a == 600 for a, b in itertools.pairwise(starts))


@pytest.mark.parametrize(
    ("day", "rows"), [(date(2026, 3, 30), 23 * 6 + 144), (date(2026, 10, 26), 25 * 6 + 144)]
)
def test_daily_holds_all_of_a_yesterday_whose_clocks_changed(day: date, rows: int) -> None:
    end = day_bounds(day, AMS)[0] + 23 * 3600 + 50 * 60  # 23:50 the day after the change
    doc = validate(render_level(INFO, "daily", History(AMS), end))
    assert len(doc["rows"]) == rows


def test_a_bucket_replaced_at_the_same_start_is_dumped_again_in_every_kept_file() -> None:
    history, end = two_household_days()
    views = MeterViews()
    for level in LEVELS:
        views.render(INFO, level, history, end)
    yesterday = day_bounds(date(2026, 11, 26), AMS)[0]
    for table, start in (
        (history.ten_minutes, yesterday + 12 * 3600),
        (history.hours, yesterday + 12 * 3600),
        (history.days, yesterday),
    ):
        old = table[start]
        table[start] = Bucket(old.start, old.seconds, old.kwh * 2, old.covered, 1.0, 2.0, 0.5)
    history.version += 1
    for level in LEVELS:
        assert views.render(INFO, level, history, end) == render_level(INFO, level, history, end)
