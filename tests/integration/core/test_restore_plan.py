"""Restore planning (restore_plan.py): a published folder read back into the store's gaps."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.powerstats.core.accounting import Bucket
from custom_components.powerstats.core.restore_plan import (
    MAX_FILE_BYTES,
    LocalMeter,
    PublishedFile,
    PublishedMeter,
    RestoreError,
    RestorePlan,
    apply,
    bucket_from_row,
    plan,
    preview,
    read_level,
    read_manifest,
    select,
)
from custom_components.powerstats.core.rollup import History
from custom_components.powerstats.core.timegrid import day_bounds, hour_start, ten_minute_start
from custom_components.powerstats.core.views import (
    LEVELS,
    Level,
    MeterInfo,
    bucket_row,
    render_level,
    sha256_hex,
)
from tests.contract import ContractError, validate_bytes
from tests.integration import published_folder
from tests.integration.published_folder import Folder

AMS = ZoneInfo("Europe/Amsterdam")
ZONE = "Europe/Amsterdam"
EXAMPLES = Path(__file__).resolve().parents[3] / "schemas" / "examples"
INFO = MeterInfo("house", "House", "sensor.house_power", "power", ZONE, "EUR", True)
# Published at a quarter past two on a Tuesday, three weeks after the 25-hour day of 2026.
AS_OF = int(datetime(2026, 11, 17, 14, 20, tzinfo=AMS).timestamp())
# The fresh Home Assistant the folder is restored into started tracking an hour later.
LIVE_FROM = AS_OF + 3600
NOW = LIVE_FROM + 300


def tracked_history(end: int, *, days: int, first_day: date | None = None) -> History:
    """A history as live tracking builds it over the `days` before `end`, older days as given."""
    start = end - days * 86400
    history = published_folder.tracked(start, end, AMS)
    day = first_day or date(2025, 11, 1)
    while day_bounds(day, AMS)[1] <= start:
        begin, finish = day_bounds(day, AMS)
        kwh = 5 + (day.toordinal() % 11) * 0.731
        history.days.setdefault(
            begin,
            Bucket(begin, finish - begin, kwh, finish - begin - 60, 80.0, 3100.0, kwh * 0.27),
        )
        day += timedelta(days=1)
    history.prune(end)
    return history


def publish(
    history: History, as_of: int = AS_OF, levels: Iterable[Level] = LEVELS, info: MeterInfo = INFO
) -> Folder:
    return published_folder.publish(history, as_of, info, levels)


def local(live_from: int = LIVE_FROM, meter_id: str = "house") -> dict[str, LocalMeter]:
    return {meter_id: LocalMeter(meter_id, AMS, ZONE, live_from, "EUR")}


def restore_plan(folder: Folder, targets: dict[str, LocalMeter] | None = None) -> RestorePlan:
    targets = local() if targets is None else targets
    selection = select(read_manifest(folder.manifest), targets)
    return plan(selection, targets, {f.path: folder.files[f.path] for f in selection.files})


def restored(folder: Folder, target: History | None = None) -> History:
    history = History(AMS) if target is None else target
    (meter,) = restore_plan(folder).meters
    apply(history, meter, NOW)
    return history


def rows(data: bytes) -> list[list[Any]]:
    result: list[list[Any]] = json.loads(data)["rows"]
    return result


def data_rows(data: bytes, before: int = LIVE_FROM) -> dict[int, list[Any]]:
    """Rows with data of a file, by start, that end before live time began."""
    doc = json.loads(data)
    size = {"10min": 600, "hour": 3600}.get(doc["bucket"])
    return {r[0]: r for r in doc["rows"] if r[5] > 0 and (size is None or r[0] + size <= before)}


def assert_same_rows(again: dict[int, list[Any]], published: dict[int, list[Any]]) -> None:
    """Rows equal cell for cell; the mean power within the rounding of energy and coverage.

    The mean is energy over covered time; 4 decimals of kWh in a 10-minute bucket are coarser
    than a tenth of a watt, so the mean a restored bucket renders may differ by that much.
    """
    assert again.keys() == published.keys()
    for start, row in published.items():
        assert again[start][:2] + again[start][3:] == row[:2] + row[3:], start
        least = (row[5] - 0.0005) * 600
        slack = (0.00005 * 3.6e6 + abs(row[2]) * 0.3) / least + 0.1
        assert abs(again[start][2] - row[2]) <= slack, start


SOURCE = tracked_history(AS_OF, days=10)


# -- round trips ----------------------------------------------------------------------------


def test_a_pages_folder_restores_monthly_and_yearly_row_for_row_into_an_empty_store() -> None:
    folder = publish(SOURCE, levels=("monthly", "yearly"))
    history = restored(folder)
    for level in ("monthly", "yearly"):
        published = data_rows(folder.files[f"house/{level}.json"])
        today = day_bounds(datetime.fromtimestamp(AS_OF, AMS).date(), AMS)[0]
        published.pop(today)  # the day still open when restoring is live tracking's
        assert_same_rows(data_rows(render_level(INFO, level, history, AS_OF)), published)


@pytest.mark.parametrize("level", LEVELS)
def test_a_full_folder_restores_every_level_row_for_row_into_an_empty_store(level: Level) -> None:
    folder = publish(SOURCE)
    history = restored(folder)
    published = data_rows(folder.files[f"house/{level}.json"])
    again = data_rows(render_level(INFO, level, history, AS_OF))
    if level in ("monthly", "yearly"):
        # Today is still open: live tracking adds to what its restored hours give it.
        today = day_bounds(datetime.fromtimestamp(LIVE_FROM, AMS).date(), AMS)[0]
        assert math.isclose(again.pop(today)[1], published.pop(today)[1], abs_tol=2e-3)
    assert_same_rows(again, published)


def test_a_restored_store_totals_the_days_as_published() -> None:
    folder = publish(SOURCE, levels=("yearly",))
    history = restored(folder)
    published = data_rows(folder.files["house/yearly.json"])
    total = math.fsum(r[1] for s, r in published.items() if s + 86400 <= LIVE_FROM)
    assert math.isclose(math.fsum(b.kwh for b in history.days.values()), total, rel_tol=1e-12)


def test_restoring_the_same_folder_twice_adds_nothing_the_second_time() -> None:
    folder = publish(SOURCE)
    history = restored(folder)
    saved = history.to_json()
    (meter,) = restore_plan(folder).meters
    outcomes = apply(history, meter, NOW)
    assert [o.added for o in outcomes] == [0, 0, 0, 0]
    assert history.to_json() == saved


def test_a_restore_never_overwrites_a_bucket_tracked_live() -> None:
    folder = publish(SOURCE)
    # The fresh store tracked the afternoon of the day before the folder was published.
    live = tracked_history(AS_OF - 86400, days=1, first_day=date(2026, 11, 16))
    before = live.to_json()
    history = restored(folder, live)
    after = history.to_json()
    kept = {row[0]: row for row in before["ten_minutes"]}
    now = {row[0]: row for row in after["ten_minutes"]}
    assert {s: now[s] for s in kept} == kept
    # An hour tracked whole is as it was; the one tracked in part is rolled up again with the
    # restored 10-minute buckets beside its live ones.
    whole = {
        hour_start(s, AMS)
        for s in kept
        if all(h in kept for h in range(hour_start(s, AMS), hour_start(s, AMS) + 3600, 600))
    }
    hours_before = {row[0]: row for row in before["hours"]}
    assert {h: {row[0]: row for row in after["hours"]}[h] for h in whole} == {
        h: hours_before[h] for h in whole
    }
    last_live = hour_start(max(kept), AMS)
    assert history.hours[last_live].kwh == pytest.approx(
        math.fsum(history.ten_minutes[s].kwh for s in range(last_live, last_live + 3600, 600))
    )
    # The gaps after the live afternoon were filled from the folder.
    assert len(after["ten_minutes"]) > len(before["ten_minutes"])


def test_a_live_day_is_rolled_up_again_with_the_restored_hours_around_its_live_ones() -> None:
    folder = publish(SOURCE)
    day = day_bounds(date(2026, 11, 16), AMS)
    live = History(AMS)
    # One live 10-minute bucket at noon: the day is tracked, its other hours are gaps.
    noon = day[0] + 12 * 3600
    live.add(Bucket(noon, 600, 0.1, 600, 600.0, 600.0))
    history = restored(folder, live)
    assert history.ten_minutes[noon] == Bucket(noon, 600, 0.1, 600, 600.0, 600.0)
    hours = [b for s, b in history.hours.items() if day[0] <= s < day[1]]
    assert len(hours) == 24
    assert history.days[day[0]].kwh == pytest.approx(math.fsum(h.kwh for h in hours))


def test_buckets_of_live_time_and_of_the_open_hour_and_day_are_not_offered() -> None:
    folder = publish(SOURCE, as_of=AS_OF)
    live_from = ten_minute_start(AS_OF - 25 * 60, AMS)  # 13:50: the folder holds 14:00 and 14:10
    (meter,) = restore_plan(folder, local(live_from)).meters
    assert all(b.start + b.seconds <= live_from for b in meter.ten_minutes + meter.hours)
    assert max(b.start for b in meter.ten_minutes) == live_from - 600
    assert max(b.start for b in meter.hours) == hour_start(live_from, AMS) - 3600
    today = day_bounds(datetime.fromtimestamp(live_from, AMS).date(), AMS)[0]
    assert max(b.start for b in meter.days) == today - 86400


def test_a_dry_run_reports_what_a_restore_adds_and_changes_nothing() -> None:
    folder = publish(SOURCE)
    (meter,) = restore_plan(folder).meters
    history = History(AMS)
    seen = preview(history, meter, NOW)
    assert history.to_json() == History(AMS).to_json()
    assert apply(history, meter, NOW) == seen
    by_level = {o.level: o for o in seen}
    assert by_level["daily"].added == len(meter.ten_minutes)
    assert by_level["yearly"].added == len({b.start for b in meter.days})
    assert by_level["monthly"].rows == 30


def test_restored_buckets_keep_the_published_backfill_share() -> None:
    source = tracked_history(AS_OF, days=3)
    old = day_bounds(date(2026, 8, 1), AMS)[0]
    source.days[old] = replace(source.days[old], backfill=source.days[old].covered / 2)
    folder = publish(source, levels=("yearly",))
    history = restored(folder)
    assert history.days[old].backfill == pytest.approx(history.days[old].covered * 0.5)
    assert (
        data_rows(render_level(INFO, "yearly", history, AS_OF))[old]
        == (data_rows(folder.files["house/yearly.json"])[old])
    )


def test_a_25_hour_day_is_restored_as_25_hours() -> None:
    folder = publish(SOURCE, levels=("monthly",))
    history = restored(folder)
    fall_back = day_bounds(date(2026, 10, 25), AMS)[0]
    assert history.days[fall_back].seconds == 25 * 3600


def test_a_week_across_a_half_hour_clock_change_is_restored_hour_for_hour() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # moves its clock by half an hour
    as_of = int(datetime(2026, 10, 7, 14, 20, tzinfo=lord_howe).timestamp())
    info = replace(INFO, timezone="Australia/Lord_Howe")
    source = published_folder.tracked(as_of - 8 * 86400, as_of, lord_howe)
    folder = publish(source, as_of, ("weekly",), info)
    targets = {"house": LocalMeter("house", lord_howe, "Australia/Lord_Howe", as_of + 3600, "EUR")}
    selection = select(read_manifest(folder.manifest), targets)
    files = {f.path: folder.files[f.path] for f in selection.files}
    (meter,) = plan(selection, targets, files).meters
    history = History(lord_howe)
    apply(history, meter, as_of + 3900)
    published = data_rows(folder.files["house/weekly.json"], as_of)
    assert 1800 in {b - a for a, b in itertools.pairwise(sorted(published))}
    assert_same_rows(data_rows(render_level(info, "weekly", history, as_of), as_of), published)


# -- rows back to buckets ---------------------------------------------------------------------

measured = st.builds(
    lambda coverage, seconds, watts, spread, cost, share: Bucket(
        start=0,
        seconds=seconds,
        kwh=watts * coverage * seconds / 3.6e6,
        covered=coverage * seconds,
        min_w=watts - spread,
        max_w=watts + spread,
        cost=cost,
        backfill=share * coverage * seconds,
    ),
    coverage=st.floats(min_value=0.0005, max_value=1.0),
    seconds=st.sampled_from([600, 3600, 82800, 86400, 90000]),
    watts=st.floats(min_value=-20_000, max_value=50_000, allow_subnormal=False),
    spread=st.floats(min_value=0, max_value=5000),
    cost=st.one_of(st.none(), st.floats(min_value=-10, max_value=60)),
    share=st.floats(min_value=0, max_value=1),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(bucket=measured)
def test_a_restored_bucket_renders_back_to_the_row_it_was_read_from(bucket: Bucket) -> None:
    written = bucket_row(bucket.start, bucket.seconds, bucket, priced=True, backfill=True)
    names = ["start", "kwh", "mean_w", "min_w", "max_w", "coverage", "cost", "backfill"]
    back = bucket_from_row("f", 1, dict(zip(names, written, strict=True)), 0, bucket.seconds)
    assert back is not None
    again = bucket_row(0, bucket.seconds, back, priced=True, backfill=True)
    # Energy, power range, coverage, cost and backfill come back exactly. The mean is energy
    # over covered time, both written rounded (kWh to 4 decimals, coverage to 3): where that
    # is coarser than the mean's one decimal, the mean is off by those roundings at most.
    assert again[:2] + again[3:] == written[:2] + written[3:]
    least = max((written[5] - 0.0005) * bucket.seconds, 1e-9)
    energy_rounding = 0.00005 * 3.6e6 / least
    coverage_rounding = abs(written[2]) * 0.0005 * bucket.seconds / least
    # Both means are rounded to a tenth of a watt: each rounding moves one by up to 0.05.
    slack = energy_rounding + coverage_rounding + 0.1
    assert abs(again[2] - written[2]) <= slack + 1e-9


# -- refusing bad folders -----------------------------------------------------------------------


def refused(folder: Folder, targets: dict[str, LocalMeter] | None = None) -> RestoreError:
    with pytest.raises(RestoreError) as caught:
        restore_plan(folder, targets)
    return caught.value


BAD_LEVEL_FILES = sorted(
    p for p in (EXAMPLES / "bad").glob("*.json") if not p.name.startswith("manifest")
)
BAD_MANIFESTS = sorted((EXAMPLES / "bad").glob("manifest*.json"))


@pytest.mark.parametrize("example", BAD_LEVEL_FILES, ids=lambda p: p.stem)
def test_every_level_file_the_contract_calls_bad_is_refused(example: Path) -> None:
    data = example.read_bytes()
    doc = json.loads(data)
    level: Level = doc["level"] if doc.get("level") in LEVELS else "daily"
    meter = PublishedMeter("house", "House", ZONE, None, ())
    entry = PublishedFile("house", level, f"house/{level}.json", sha256_hex(data), len(data))
    with pytest.raises(RestoreError):
        read_level(entry, data, meter, AMS)


@pytest.mark.parametrize("example", BAD_MANIFESTS, ids=lambda p: p.stem)
def test_every_manifest_the_contract_calls_bad_is_refused(example: Path) -> None:
    with pytest.raises(RestoreError):
        read_manifest(example.read_bytes())


def test_the_contract_s_good_example_files_are_read() -> None:
    manifest = read_manifest((EXAMPLES / "published-manifest.json").read_bytes())
    (meter,) = manifest.meters
    for file in meter.files:
        data = (EXAMPLES / file.path).read_bytes()
        assert read_level(replace(file, sha256=sha256_hex(data), size=len(data)), data, meter, AMS)


def test_a_file_whose_bytes_differ_from_the_manifest_s_hash_is_refused() -> None:
    folder = publish(SOURCE)
    folder.files["house/weekly.json"] = folder.files["house/weekly.json"].replace(b"[", b" [", 1)
    error = refused(folder)
    assert error.key == "restore_checksum"
    assert error.placeholders == {"path": "house/weekly.json"}


def test_a_newer_format_major_is_refused_with_the_update_message() -> None:
    folder = publish(SOURCE)
    folder.edit_manifest(lambda m: m.update(format="powerstats/2"))
    error = refused(folder)
    assert error.key == "restore_format_major"
    assert str(error) == (
        "manifest.json is powerstats/2; this PowerStats understands powerstats/1 — update "
        "PowerStats, then restore"
    )


def test_a_level_file_of_a_newer_major_is_refused() -> None:
    folder = publish(SOURCE)
    folder.edit_level("house/monthly.json", lambda d: d.update(format="powerstats/3"))
    assert refused(folder).key == "restore_format_major"


def test_a_manifest_pointing_outside_its_meter_s_folder_is_refused() -> None:
    folder = publish(SOURCE)

    def steer(manifest: dict[str, Any]) -> None:
        manifest["meters"][0]["files"]["daily"]["path"] = "garage/daily.json"

    folder.edit_manifest(steer)
    error = refused(folder)
    assert error.key == "restore_unreadable"
    assert "'garage/daily.json' is not 'house/daily.json'" in str(error)


def test_a_meter_in_another_time_zone_is_refused() -> None:
    folder = publish(SOURCE, info=replace(INFO, timezone="Europe/London"))
    error = refused(folder)
    assert error.key == "restore_wrong_timezone"
    assert error.placeholders["file_timezone"] == "Europe/London"


def test_a_meter_priced_in_another_currency_is_refused() -> None:
    folder = publish(SOURCE, info=replace(INFO, currency="USD"))
    error = refused(folder)
    assert error.key == "restore_wrong_currency"
    assert error.placeholders == {"meter": "house", "file_currency": "USD", "currency": "EUR"}


def test_a_meter_published_without_a_price_restores_whatever_the_currency() -> None:
    folder = publish(SOURCE, info=replace(INFO, currency=None, priced=False))
    targets = {"house": LocalMeter("house", AMS, ZONE, LIVE_FROM, "JPY")}
    (meter,) = restore_plan(folder, targets).meters
    assert meter.days


def test_a_level_file_in_another_currency_than_its_manifest_is_refused() -> None:
    folder = publish(SOURCE)
    folder.edit_level("house/monthly.json", lambda d: d.update(currency="USD"))
    error = refused(folder)
    assert error.key == "restore_unreadable"
    assert "its currency 'USD' is not the manifest's" in str(error)


def test_a_row_off_the_local_grid_is_refused() -> None:
    folder = publish(SOURCE)

    def shift(doc: dict[str, Any]) -> None:
        for row in doc["rows"]:
            row[0] += 60

    folder.edit_level("house/weekly.json", shift)
    assert "is not the start of a local hour" in str(refused(folder))


def test_a_missing_row_in_the_window_is_refused() -> None:
    folder = publish(SOURCE)
    folder.edit_level("house/daily.json", lambda d: d["rows"].pop(40))
    assert "not at the next 10min" in str(refused(folder))


def test_rows_after_the_file_was_generated_are_refused() -> None:
    folder = publish(SOURCE)
    folder.edit_level(
        "house/monthly.json", lambda d: d.update(generated="2026-11-01T00:00:00+01:00")
    )
    assert "after the file was made" in str(refused(folder))


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (True, "is not a number"),
        ("12", "is not a number"),
        (1e400, "is not finite"),
        (-5e9, "more power than any meter measures"),
    ],
)
def test_a_cell_that_is_not_a_sane_number_is_refused(cell: Any, reason: str) -> None:
    folder = publish(SOURCE)

    def poison(doc: dict[str, Any]) -> None:
        doc["rows"][3][2] = cell  # mean_w of a row with data

    folder.edit_level("house/monthly.json", poison)
    if cell == 1e400:  # json.dumps writes Infinity, which is not JSON; write the literal
        text = folder.files["house/monthly.json"].replace(b"Infinity", b"1e400")
        folder.replace("house/monthly.json", text)
    assert reason in str(refused(folder))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"format": "powerstats/1", "format": "powerstats/1"}', "same key twice"),
        (b'{"format": NaN}', "NaN is not a number"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"format": "powerstats/1",', "invalid JSON"),
    ],
)
def test_a_manifest_that_is_not_sound_json_is_refused(text: bytes, reason: str) -> None:
    with pytest.raises(RestoreError, match=reason):
        read_manifest(text)


def test_a_level_file_larger_than_any_powerstats_writes_is_refused_unparsed() -> None:
    huge = b" " * (MAX_FILE_BYTES + 1)
    entry = PublishedFile("house", "daily", "house/daily.json", sha256_hex(huge), len(huge))
    meter = PublishedMeter("house", "House", ZONE, None, (entry,))
    with pytest.raises(RestoreError) as caught:
        read_level(entry, huge, meter, AMS)
    assert caught.value.key == "restore_too_large"


def test_a_level_file_with_more_rows_than_any_window_is_refused() -> None:
    folder = publish(SOURCE)

    def stretch(doc: dict[str, Any]) -> None:
        first = doc["rows"][0][0]
        doc["rows"] = [[first + i * 600, None, None, None, None, 0, None] for i in range(601)]
        doc["generated"] = "2030-01-01T00:00:00+01:00"

    folder.edit_level("house/daily.json", stretch)
    assert "more than 600 rows" in str(refused(folder))


def test_one_bad_file_refuses_the_whole_folder() -> None:
    folder = publish(SOURCE)
    folder.edit_level("house/yearly.json", lambda d: d["rows"][0].append(1))
    with pytest.raises(RestoreError, match="one cell per column"):
        restore_plan(folder)


def test_a_wanted_meter_the_source_does_not_publish_is_named() -> None:
    manifest = read_manifest(publish(SOURCE).manifest)
    with pytest.raises(RestoreError) as caught:
        select(manifest, {"house", "garage"}, ["garage"])
    assert caught.value.key == "restore_meter_not_published"
    assert str(caught.value) == "The source publishes no meter 'garage'; it publishes house"


def test_a_wanted_meter_that_is_not_set_up_here_is_named() -> None:
    manifest = read_manifest(publish(SOURCE).manifest)
    with pytest.raises(RestoreError) as caught:
        select(manifest, {"garage"}, ["house"])
    assert caught.value.key == "restore_meter_not_here"


def test_a_source_sharing_no_meter_with_this_home_assistant_is_refused() -> None:
    manifest = read_manifest(publish(SOURCE).manifest)
    with pytest.raises(RestoreError) as caught:
        select(manifest, {"garage"})
    assert caught.value.key == "restore_no_common_meter"


def test_published_meters_without_a_meter_here_are_reported_and_left_alone() -> None:
    folder = publish(SOURCE)

    def add_garage(manifest: dict[str, Any]) -> None:
        garage = json.loads(json.dumps(manifest["meters"][0]))
        garage.update(id="garage", files={})
        manifest["meters"].append(garage)

    folder.edit_manifest(add_garage)
    result = restore_plan(folder)
    assert result.unmatched == ("garage",)
    assert [m.meter_id for m in result.meters] == ["house"]


# -- at least as strict as the contract ----------------------------------------------------------


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*at, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):
            found += _paths(child, (*at, index))
    return found


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.just([]),
    st.just({}),
    st.just("powerstats/2"),
    st.just("2026-11-17T14:20:00+01:00"),
)
SMALL = tracked_history(AS_OF, days=2)
SMALL_FOLDER = publish(SMALL, levels=("monthly",))


def mutated(data: st.DataObject, document: bytes) -> bytes:
    """The document with one member or cell removed or replaced by junk."""
    doc = json.loads(document)
    at = data.draw(st.sampled_from(_paths(doc)[1:]))
    parent = doc
    for key in at[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[at[-1]]
    else:
        parent[at[-1]] = data.draw(JUNK)
    return json.dumps(doc).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_level_file_restore_accepts_is_one_the_contract_accepts(data: st.DataObject) -> None:
    raw = mutated(data, SMALL_FOLDER.files["house/monthly.json"])
    meter = PublishedMeter("house", "House", ZONE, None, ())
    entry = PublishedFile("house", "monthly", "house/monthly.json", sha256_hex(raw), len(raw))
    with contextlib.suppress(RestoreError):
        read_level(entry, raw, meter, AMS)
        try:
            validate_bytes(raw)
        except ContractError as err:
            pytest.fail(f"restore accepted a file the contract refuses: {err}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_manifest_restore_accepts_is_one_the_contract_accepts(data: st.DataObject) -> None:
    raw = mutated(data, SMALL_FOLDER.manifest)
    with contextlib.suppress(RestoreError):
        read_manifest(raw)
        try:
            validate_bytes(raw)
        except ContractError as err:
            pytest.fail(f"restore accepted a manifest the contract refuses: {err}")


# -- any store, any folder --------------------------------------------------------------------

live_hours = st.sets(st.integers(min_value=0, max_value=24 * 10 - 1), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hours=live_hours, levels=st.sets(st.sampled_from(LEVELS), min_size=1))
def test_any_restore_keeps_live_buckets_fills_only_gaps_and_is_idempotent(
    hours: set[int], levels: set[str]
) -> None:
    folder = publish(SOURCE, levels=[lvl for lvl in LEVELS if lvl in levels])
    live = History(AMS)
    base = hour_start(LIVE_FROM, AMS) - 240 * 3600
    for h in hours:
        start = base + h * 3600
        live.add(Bucket(start, 600, 0.05, 600, 300.0, 300.0))
    before = live.to_json()
    history = restored(folder, live)
    after = history.to_json()
    kept = {row[0]: row for row in before["ten_minutes"]}
    assert {row[0]: row for row in after["ten_minutes"] if row[0] in kept} == kept
    for name in ("ten_minutes", "hours", "days"):
        assert {row[0] for row in before[name]} <= {row[0] for row in after[name]}
    (meter,) = restore_plan(folder).meters
    assert all(o.added == 0 for o in apply(history, meter, NOW))
    assert history.to_json() == after
