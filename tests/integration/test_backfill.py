"""Backfill from a real recorder: 60 days of statistics and states become the meter's history.

The recorder (pytest-homeassistant-custom-component's in-memory SQLite recorder) holds hourly
long-term statistics of the source for the first 52 days and raw states for the last 8; the
meter tracks the last day live. The expected energy per local day is computed here, directly
from what was put into the recorder.
"""

from __future__ import annotations

import copy
import math
import random
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.recorder import get_instance
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (  # type: ignore[import-untyped]
    async_wait_recording_done,
)

from custom_components.powerstats import backfill as backfill_module
from custom_components.powerstats.backfill import (
    BackfillResult,
    _with_stops,
    async_start_backfill,
    backfill_of,
)
from custom_components.powerstats.const import DOMAIN, meter_store_key
from custom_components.powerstats.core.recorder_buckets import RecordedState, StateReplay
from custom_components.powerstats.core.timegrid import local_date
from custom_components.powerstats.meter import PowerStatsMeter
from tests.fake_github import FakeGitHub

from ..contract import validate_bytes
from .conftest import (
    AMSTERDAM,
    HOUSE,
    SOURCE,
    at,
    make_entry,
    meter_device,
    meter_of,
    snapshots_fail,
)
from .publish_support import fake, local_files, no_write_pause, start_publishing_meter

__all__ = ["fake", "no_write_pause"]  # fixtures of the publishing test

NOW = at(2026, 11, 26, 12, 0)
BEGIN = NOW - timedelta(days=60)  # 2026-09-27 12:00 CEST: the 25-hour day 2026-10-25 is inside
STATES_FROM = NOW - timedelta(days=8)
LIVE_FROM = NOW - timedelta(days=1)
GAP = (BEGIN + timedelta(days=20, hours=3), BEGIN + timedelta(days=20, hours=8))
ENERGY = "sensor.house_energy"
POWER = {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"}

pytestmark = pytest.mark.freeze_time(BEGIN.astimezone(UTC).isoformat())


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: object) -> None:
    """The recorder database is prepared before HA starts (the harness' rule)."""


class Recorded:
    """What was put into the recorder, and the energy per local day it describes."""

    def __init__(self) -> None:
        self.kwh: dict[Any, float] = defaultdict(float)
        self.last = (0.0, 0.0)  # (time, watts) of the last state set
        self.segments: list[tuple[float, float, float]] = []

    def add(self, start: float, end: float, watts: float) -> None:
        """A constant `watts` over [start, end), split at local midnights."""
        self.segments.append((start, end, watts))
        t = start
        while t < end:
            day = local_date(t, AMSTERDAM)
            midnight = datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM) + timedelta(days=1)
            until = min(end, midnight.timestamp())
            self.kwh[day] += watts * (until - t) / 3.6e6
            t = until

    def kwh_between(self, begin: float, end: float) -> float:
        """The energy described over [begin, end)."""
        return math.fsum(
            w * max(0.0, min(b, end) - max(a, begin)) / 3.6e6 for a, b, w in self.segments
        )


def statistics_metadata() -> StatisticMetaData:
    meta: dict[str, Any] = {
        "has_sum": False,
        "mean_type": StatisticMeanType.ARITHMETIC,
        "name": None,
        "source": "recorder",
        "statistic_id": SOURCE,
        "unit_of_measurement": "W",
    }
    if "unit_class" in StatisticMetaData.__annotations__:
        meta["unit_class"] = "power"  # newer HA asks which converter the unit belongs to
    return meta  # type: ignore[return-value]


def energy_statistics_metadata(statistic_id: str) -> StatisticMetaData:
    meta: dict[str, Any] = dict(statistics_metadata())
    meta |= {
        "statistic_id": statistic_id,
        "unit_of_measurement": "kWh",
        "has_sum": True,
        "mean_type": StatisticMeanType.NONE,
    }
    if "unit_class" in meta:
        meta["unit_class"] = "energy"
    return meta  # type: ignore[return-value]


async def fill_recorder(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Recorded:
    """52 days of hourly statistics (with a 5-hour gap), then 8 days of raw states."""
    rng = random.Random(11)
    recorded = Recorded()
    rows: list[StatisticData] = []
    hour = BEGIN.astimezone(UTC)  # UTC steps: the fall-back day has 25 of them
    while hour < STATES_FROM:
        if not GAP[0] <= hour < GAP[1]:
            mean = rng.uniform(150, 900)
            rows.append({"start": hour, "mean": mean, "min": mean / 3, "max": mean * 4})
            recorded.add(hour.timestamp(), hour.timestamp() + 3600, mean)
        hour += timedelta(hours=1)
    async_import_statistics(hass, statistics_metadata(), rows)
    await async_wait_recording_done(hass)

    # Raw states; each holds until the next one (the last until whoever sets the next).
    t = STATES_FROM.timestamp()
    previous: tuple[float, float] | None = None
    while t < LIVE_FROM.timestamp() - 3600:
        watts = round(rng.choice([95.0, 120.0, 480.0, 2100.0, rng.uniform(80, 3000)]), 1)
        freezer.move_to(datetime.fromtimestamp(t, UTC))
        hass.states.async_set(SOURCE, f"{watts:.1f}", POWER)
        if previous is not None:
            recorded.add(previous[0], t, previous[1])
        previous = (t, watts)
        t += rng.uniform(60, 1500)
    assert previous is not None
    recorded.last = previous
    await async_wait_recording_done(hass)
    return recorded


async def start_meter(hass: HomeAssistant, *, backfill: bool = False) -> PowerStatsMeter:
    entry = make_entry(options={"backfill": backfill})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return meter_of(entry)


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, t: float) -> None:
    # State changes set so far are handled before the 10-minute boundary fires.
    await hass.async_block_till_done()
    when = datetime.fromtimestamp(t, UTC)
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done()


async def live_until_now(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, recorded: Recorded
) -> None:
    """Keep setting states (recorded and tracked live) up to NOW, ticking every 10 minutes."""
    rng = random.Random(5)
    boundary = LIVE_FROM.timestamp() + 600
    t = LIVE_FROM.timestamp() + 30
    while t < NOW.timestamp():
        while boundary <= t:
            await tick(hass, freezer, boundary)
            boundary += 600
        watts = rng.choice([110.0, 95.0, 1500.0, 2200.0])
        freezer.move_to(datetime.fromtimestamp(t, UTC))
        hass.states.async_set(SOURCE, f"{watts:.1f}", POWER)
        recorded.add(recorded.last[0], t, recorded.last[1])
        recorded.last = (t, watts)
        t += rng.uniform(60, 1500)
    while boundary <= NOW.timestamp():
        await tick(hass, freezer, boundary)
        boundary += 600
    recorded.add(recorded.last[0], NOW.timestamp(), recorded.last[1])
    await async_wait_recording_done(hass)


async def scenario(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> tuple[PowerStatsMeter, Recorded]:
    """The recorder's 60 days, with the meter set up a day ago and tracking live since."""
    recorded = await fill_recorder(hass, freezer)
    freezer.move_to(LIVE_FROM)
    meter = await start_meter(hass)
    await live_until_now(hass, freezer, recorded)
    return meter, recorded


async def backfill(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "backfill", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def last_backfill(entry: MockConfigEntry) -> BackfillResult | None:
    """The result of the House meter's last backfill since the entry was (re)loaded."""
    state = entry.runtime_data.backfills.get(HOUSE)
    return None if state is None else state.last


def level_bytes(hass: HomeAssistant) -> dict[str, bytes]:
    return {
        level: Path(hass.config.path(f"powerstats/house/{level}.json")).read_bytes()
        for level in ("daily", "weekly", "monthly", "yearly")
    }


def level_file(hass: HomeAssistant, level: str) -> dict[str, Any]:
    data = Path(hass.config.path(f"powerstats/house/{level}.json")).read_bytes()
    document: dict[str, Any] = validate_bytes(data)
    return document


def rows_by_day(document: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    columns = document["columns"]
    return {
        local_date(row[0], AMSTERDAM): dict(zip(columns, row, strict=True))
        for row in document["rows"]
    }


async def new_entry_over_a_recorded_year(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> tuple[MockConfigEntry, Recorded]:
    """A PowerStats entry not set up yet, its source with a year in the recorder."""
    recorded = await fill_recorder(hass, freezer)
    freezer.move_to(NOW)
    entry = make_entry()
    entry.add_to_hass(hass)
    return entry, recorded


def assert_setup_backfill_landed(entry: MockConfigEntry, recorded: Recorded) -> None:
    first_day = local_date(BEGIN.timestamp() + 86400, AMSTERDAM)
    days = meter_of(entry).history.days.items()
    day = next(b for s, b in days if local_date(s, AMSTERDAM) == first_day)
    assert day.kwh == pytest.approx(recorded.kwh[first_day], abs=1e-9)
    assert last_backfill(entry) is not None


@pytest.fixture
async def ha_recorder(
    recorder_mock: Recorder, hass: HomeAssistant, tmp_path: Path
) -> HomeAssistant:
    """HA with the recorder, in Amsterdam time, with a config dir of its own."""
    hass.config.config_dir = str(tmp_path)
    await hass.config.async_set_time_zone("Europe/Amsterdam")
    hass.config.currency = "EUR"
    return hass


async def test_yearly_and_monthly_views_after_a_backfill_match_the_recorded_energy(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    meter, recorded = await scenario(hass, freezer)
    result = (await backfill(hass))["meters"]["house"]
    assert result["found_days"] == 61
    assert result["landed_buckets"] > 0
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    message = notifications[f"{DOMAIN}_backfill_house"]["message"]
    assert ": 61 days, " in message
    assert message.endswith(
        f", {result['landed_buckets']} buckets (days, hours and 10-minute buckets) filled where "
        "PowerStats had no data (what it measured itself was kept)."
    )

    yearly_file, monthly_file = level_file(hass, "yearly"), level_file(hass, "monthly")
    yearly, monthly = rows_by_day(yearly_file), rows_by_day(monthly_file)
    assert len(yearly) == 365
    assert len(monthly) == 30
    today = local_date(NOW.timestamp(), AMSTERDAM)
    for day, expected in recorded.kwh.items():
        if day == today:
            continue  # below: the day files hold today's hours closed by their `generated`
        assert yearly[day]["kwh"] == pytest.approx(expected, abs=1e-4), day
        if day in monthly:
            assert monthly[day]["kwh"] == pytest.approx(expected, abs=1e-4), day
    midnight = datetime(today.year, today.month, today.day, tzinfo=AMSTERDAM).timestamp()
    for document, rows in ((yearly_file, yearly), (monthly_file, monthly)):
        by = datetime.fromisoformat(document["generated"]).timestamp()
        so_far = recorded.kwh_between(midnight, by)
        assert so_far > 0
        assert rows[today]["kwh"] == pytest.approx(so_far, abs=1e-4), document["level"]
    assert set(recorded.kwh) == {d for d, r in yearly.items() if r["kwh"] is not None}
    # The 25-hour day is fully covered; the day with 5 hours missing is 19/24 covered.
    assert yearly[local_date(GAP[0].timestamp(), AMSTERDAM)]["coverage"] == pytest.approx(
        19 / 24, abs=1e-3
    )
    fall_back = yearly[local_date(at(2026, 10, 25, 12, 0).timestamp(), AMSTERDAM)]
    assert fall_back["coverage"] == 1
    # Where the data came from: all backfill before the meter started, none after.
    assert yearly[local_date(BEGIN.timestamp() + 86400, AMSTERDAM)]["backfill"] == 1
    assert yearly[local_date(NOW.timestamp(), AMSTERDAM)]["backfill"] == 0
    assert yearly[local_date(LIVE_FROM.timestamp(), AMSTERDAM)]["backfill"] == 0.5
    assert meter.totals.energy_month == pytest.approx(
        sum(v for d, v in recorded.kwh.items() if d.month == 11), abs=1e-3
    )


async def test_a_second_backfill_changes_nothing(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    meter, _ = await scenario(hass, freezer)
    await backfill(hass)
    before = meter.history.to_json()
    files = level_bytes(hass)
    again = (await backfill(hass, meter=meter_device(hass)))["meters"]["house"]
    assert again["landed_buckets"] == 0
    assert again["found_days"] == 61
    assert meter.history.to_json() == before
    assert level_bytes(hass) == files


async def test_live_buckets_recorded_before_a_backfill_are_untouched(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    meter, _ = await scenario(hass, freezer)
    ten_minutes = dict(meter.history.ten_minutes)
    hours = {s: b for s, b in meter.history.hours.items() if s >= LIVE_FROM.timestamp()}
    today = meter.history.days[int(at(2026, 11, 26, 0, 0).timestamp())]
    assert ten_minutes
    await backfill(hass)
    for start, bucket in ten_minutes.items():
        assert meter.history.ten_minutes[start] == bucket
    for start, bucket in hours.items():
        assert meter.history.hours[start] == bucket
    assert meter.history.days[int(at(2026, 11, 26, 0, 0).timestamp())] == today
    assert all(b.backfill == 0 for b in ten_minutes.values())
    # The morning before the meter started was filled in from the recorder's states.
    morning = meter.history.ten_minutes[int(at(2026, 11, 25, 9, 0).timestamp())]
    assert morning.backfill == morning.covered > 0


async def test_a_range_limits_the_backfill_to_its_local_days(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    meter, recorded = await scenario(hass, freezer)
    first, last = at(2026, 10, 24, 0, 0).date(), at(2026, 10, 26, 0, 0).date()
    result = (await backfill(hass, start=first.isoformat(), end=last.isoformat()))["meters"][
        "house"
    ]
    assert (result["first_day"], result["last_day"]) == (first.isoformat(), last.isoformat())
    backfilled = {local_date(s, AMSTERDAM) for s, b in meter.history.days.items() if b.backfill}
    assert backfilled == {first, first + timedelta(days=1), last}
    assert math.fsum(
        meter.history.days[s].kwh
        for s in meter.history.days
        if local_date(s, AMSTERDAM) in backfilled
    ) == pytest.approx(math.fsum(recorded.kwh[d] for d in backfilled), abs=1e-6)


async def test_a_sensor_without_history_gives_an_empty_valid_result_and_says_so(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    hass = ha_recorder
    freezer.move_to(NOW)
    hass.states.async_set(SOURCE, "250", POWER)
    await async_wait_recording_done(hass)
    meter = await start_meter(hass)
    result = (await backfill(hass))["meters"]["house"]
    assert result["found_days"] == 0
    assert result["landed_buckets"] == 0
    assert meter.history.days == {}
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    message = notifications[f"{DOMAIN}_backfill_house"]["message"]
    assert "No history of sensor.house_power was found in the recorder" in message
    assert "No history of sensor.house_power" in caplog.text
    yearly = level_file(hass, "yearly")
    assert all(row[1] is None for row in yearly["rows"])


async def test_a_new_meter_is_backfilled_once_at_setup_by_default(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    entry, recorded = await new_entry_over_a_recorded_year(hass, freezer)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert_setup_backfill_landed(entry, recorded)
    # Reloading does not run it again.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert last_backfill(entry) is None


async def test_a_setup_backfill_that_ends_before_the_setup_does_still_lands(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    hass = ha_recorder
    entry, recorded = await new_entry_over_a_recorded_year(hass, freezer)
    forward = hass.config_entries.async_forward_entry_setups

    async def platforms_after_the_backfill(*args: Any) -> None:
        # A short history is read before the entry's platforms are set up: the entry is
        # still setting up when the backfill ends.
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.state is ConfigEntryState.SETUP_IN_PROGRESS
        await forward(*args)

    monkeypatch.setattr(
        hass.config_entries, "async_forward_entry_setups", platforms_after_the_backfill
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert_setup_backfill_landed(entry, recorded)


async def test_a_setup_backfill_whose_buckets_could_not_be_saved_runs_again_after_a_crash(
    ha_recorder: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hass = ha_recorder
    entry, recorded = await new_entry_over_a_recorded_year(hass, freezer)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    on_disk = copy.deepcopy(hass_storage[meter_store_key(HOUSE)])  # the meter's first snapshot
    assert not any(row[-1] for row in on_disk["data"]["history"]["days"])  # nothing backfilled
    with snapshots_fail():  # the disk fills before the backfill's snapshot
        await hass.async_block_till_done(wait_background_tasks=True)
        assert any(b.backfill for b in meter_of(entry).history.days.values())
        assert "Backfill of House from the recorder failed; it is tried again" in caplog.text
        # The power is cut: the first snapshot is all there is.
        assert await hass.config_entries.async_unload(entry.entry_id)
    hass_storage[meter_store_key(HOUSE)] = on_disk

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert_setup_backfill_landed(entry, recorded)
    assert meter_store_key(HOUSE) in hass_storage


async def test_unloading_the_meter_cancels_a_running_backfill_and_stores_nothing(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    await fill_recorder(hass, freezer)
    freezer.move_to(NOW)
    meter = await start_meter(hass)
    call = hass.async_create_task(backfill(hass))
    await hass.config_entries.async_unload(meter.entry.entry_id)
    with pytest.raises(HomeAssistantError) as caught:
        await call
    assert caught.value.translation_key == "backfill_cancelled"
    assert not any(b.backfill for b in meter.history.days.values())


def test_time_ha_was_not_running_is_a_gap_in_replayed_states() -> None:
    states = [RecordedState(100.0, "500", "W"), RecordedState(900.0, "600", "W")]
    merged = _with_stops(states, [(400.0, 800.0)])
    assert [(s.t, s.state) for s in merged] == [
        (100.0, "500"),
        (400.0, "unavailable"),
        (900.0, "600"),
    ]


async def test_an_energy_meter_is_backfilled_from_the_differences_of_its_statistics_sums(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    meta = energy_statistics_metadata(ENERGY)
    rng = random.Random(2)
    rows: list[StatisticData] = []
    expected: dict[Any, float] = defaultdict(float)
    total, hour = 1000.0, BEGIN.astimezone(UTC)
    previous_present = False
    while hour < NOW - timedelta(hours=1):
        gained = rng.uniform(0.05, 1.2)
        total += gained
        present = not GAP[0] <= hour < GAP[1]
        if present:
            rows.append({"start": hour, "sum": total, "state": total})
            if previous_present:
                expected[local_date(hour.timestamp(), AMSTERDAM)] += gained
        previous_present = present
        hour += timedelta(hours=1)
    async_import_statistics(hass, meta, rows)
    await async_wait_recording_done(hass)
    freezer.move_to(NOW)
    hass.states.async_set(ENERGY, f"{total:.3f}", {"unit_of_measurement": "kWh"})
    entry = make_entry(entity_id=ENERGY, kind="energy", options={"backfill": False})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await backfill(hass)
    yearly = rows_by_day(level_file(hass, "yearly"))
    for day, kwh in expected.items():
        assert yearly[day]["kwh"] == pytest.approx(kwh, abs=1e-4), day
    # The hour after the 5 missing ones is a gap too: what the counter gained then is unknown.
    assert yearly[local_date(GAP[0].timestamp(), AMSTERDAM)]["coverage"] == pytest.approx(
        18 / 24, abs=1e-3
    )


async def test_the_add_a_meter_form_offers_the_backfill_on_by_default(
    ha_recorder: HomeAssistant,
) -> None:
    hass = ha_recorder
    hass.states.async_set(SOURCE, "250", POWER)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert result["data_schema"] is not None
    schema = result["data_schema"].schema
    (field,) = (key for key in schema if key == "backfill")
    assert field.default() is True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"entity_id": SOURCE, "name": "House", "backfill": False}
    )
    # The optional publishing step comes next; left empty, it creates the meter.
    created = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert created["type"] == "create_entry"
    (meter,) = created["result"].subentries.values()
    assert meter.data["backfill"] is False


def _runs_with_a_stop(hass: HomeAssistant, stopped: datetime, started: datetime) -> None:
    """Rewrite the recorder's runs as if HA was stopped from `stopped` to `started`."""
    from homeassistant.components.recorder.db_schema import RecorderRuns
    from homeassistant.helpers.recorder import session_scope

    with session_scope(hass=hass) as session:
        for run in session.query(RecorderRuns):
            run.end = stopped
        session.add(RecorderRuns(start=started, end=None, closed_incorrect=False))


async def test_time_ha_was_not_running_stays_a_gap_after_a_backfill_of_states(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    began = NOW - timedelta(days=2)
    stopped, started = began + timedelta(hours=1), began + timedelta(hours=3)
    freezer.move_to(began)
    hass.states.async_set(SOURCE, "1000", POWER)
    freezer.move_to(started)
    hass.states.async_set(SOURCE, "500", POWER)  # what HA recorded after it started again
    await async_wait_recording_done(hass)
    await get_instance(hass).async_add_executor_job(
        _runs_with_a_stop, hass, stopped.astimezone(UTC), started.astimezone(UTC)
    )
    freezer.move_to(NOW)
    meter = await start_meter(hass)
    await backfill(hass)
    kwh = math.fsum(b.kwh for b in meter.history.days.values())
    covered = math.fsum(b.covered for b in meter.history.days.values())
    assert kwh == pytest.approx(1.0 + 0.5 * (NOW - started).total_seconds() / 3600)
    assert covered == (NOW - began).total_seconds() - 2 * 3600


async def test_a_backfill_is_published_when_the_meter_publishes(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    hass = ha_recorder
    recorded = await fill_recorder(hass, freezer)
    freezer.move_to(NOW)
    # Set up with publishing and the default setup backfill; `settle` waits for both.
    await start_publishing_meter(hass, fake)
    remote = fake.repo.files()
    local = local_files(hass)
    assert remote["house/yearly.json"] == local["house/yearly.json"]
    published = rows_by_day(validate_bytes(remote["house/yearly.json"]))
    first_day = local_date(BEGIN.timestamp() + 86400, AMSTERDAM)
    assert published[first_day]["kwh"] == pytest.approx(recorded.kwh[first_day], abs=1e-4)
    assert published[first_day]["backfill"] == 1


async def test_a_meter_added_without_the_backfill_is_not_backfilled_when_it_is_changed(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    await fill_recorder(hass, freezer)
    freezer.move_to(NOW)
    meter = await start_meter(hass, backfill=False)
    await hass.async_block_till_done(wait_background_tasks=True)
    subentry = meter.entry.subentries[meter.subentry_id]
    hass.config_entries.async_update_subentry(
        meter.entry, subentry, data={**subentry.data, "price_mode": "fixed", "price": 0.3}
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    reloaded = meter_of(meter.entry, meter.config.meter_id)
    assert reloaded is not meter
    assert not any(b.backfill for b in reloaded.history.days.values())
    assert last_backfill(meter.entry) is None


async def test_a_second_backfill_of_a_meter_while_one_runs_is_refused(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    await fill_recorder(hass, freezer)
    freezer.move_to(NOW)
    meter = await start_meter(hass)
    running = async_start_backfill(hass, meter.entry.runtime_data, meter, None, None)
    with pytest.raises(HomeAssistantError) as caught:
        async_start_backfill(hass, meter.entry.runtime_data, meter, None, None)
    assert caught.value.translation_key == "backfill_running"
    assert (await running).days > 0


async def test_a_running_backfill_tells_its_listeners_how_far_it_is(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    hass = ha_recorder
    await fill_recorder(hass, freezer)
    freezer.move_to(NOW)
    meter = await start_meter(hass)
    state = backfill_of(meter.entry.runtime_data, meter)
    seen: list[float] = []
    state.listeners.append(lambda: seen.append(state.progress))
    await async_start_backfill(hass, meter.entry.runtime_data, meter, None, None)
    assert seen
    assert seen == sorted(seen)
    assert 0 < seen[-1] <= 1


async def test_the_progress_of_a_backfill_of_an_energy_meter_never_passes_all_done(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    # 31 whole days without a clock change: the statistics chunk's length. An energy meter also
    # reads the hour before the first (its baseline), which makes a second chunk.
    hass = ha_recorder
    first, last = datetime(2026, 9, 1, tzinfo=AMSTERDAM), datetime(2026, 10, 1, tzinfo=AMSTERDAM)
    hours = int((last - first).total_seconds() // 3600) + 24
    rows: list[StatisticData] = [
        {"start": first.astimezone(UTC) + timedelta(hours=n - 1), "sum": n, "state": n}
        for n in range(hours + 1)
    ]
    async_import_statistics(hass, energy_statistics_metadata(ENERGY), rows)
    await async_wait_recording_done(hass)
    freezer.move_to(NOW)
    hass.states.async_set(ENERGY, "5000", {"unit_of_measurement": "kWh"})
    entry = make_entry(entity_id=ENERGY, kind="energy", options={"backfill": False})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    meter = meter_of(entry)
    state = backfill_of(entry.runtime_data, meter)
    seen: list[float] = []
    state.listeners.append(lambda: seen.append(state.progress))
    response = await backfill(hass, start="2026-09-01", end="2026-10-01")
    assert response["meters"][meter.config.meter_id]["found_kwh"] == pytest.approx(hours)
    assert seen == sorted(seen)
    assert seen[-1] == 1


@pytest.mark.parametrize(
    ("kind", "statistics_unit", "shown_unit"), [("power", "kW", "W"), ("energy", "Wh", "kWh")]
)
async def test_statistics_count_in_their_own_unit_when_the_sensor_now_shows_another(
    ha_recorder: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    kind: str,
    statistics_unit: str,
    shown_unit: str,
) -> None:
    # HA keeps a sensor's statistics in the unit it first had (converting later states into
    # it) and, unless asked for a unit, reads them back in the unit the sensor shows now.
    hass = ha_recorder
    first = at(2026, 11, 2, 0, 0)
    entity_id = SOURCE if kind == "power" else ENERGY
    if kind == "power":
        meta = statistics_metadata() | {"unit_of_measurement": statistics_unit}
        rows: list[StatisticData] = [
            {"start": first.astimezone(UTC) + timedelta(hours=n), "mean": 2.0, "min": 1, "max": 3}
            for n in range(48)
        ]
    else:
        meta = energy_statistics_metadata(ENERGY) | {"unit_of_measurement": statistics_unit}
        rows = [
            {"start": first.astimezone(UTC) + timedelta(hours=n), "sum": 2000.0 * n}
            for n in range(-1, 48)
        ]
    async_import_statistics(hass, meta, rows)
    await async_wait_recording_done(hass)
    freezer.move_to(NOW)
    hass.states.async_set(entity_id, "1", {"unit_of_measurement": shown_unit})
    entry = make_entry(entity_id=entity_id, kind=kind, options={"backfill": False})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    response = await backfill(hass, start="2026-11-02", end="2026-11-03")
    # 2 kW (power) or 2000 Wh an hour (energy) over the two days: 96 kWh.
    assert response["meters"]["house"]["found_kwh"] == pytest.approx(96.0)


async def test_what_a_backfill_read_becomes_buckets_off_the_event_loop(
    ha_recorder: HomeAssistant, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Years of statistics, or a day of states of a sensor reporting every second, take
    # seconds to convert: HA must not stand still meanwhile.
    hass = ha_recorder
    await fill_recorder(hass, freezer)
    freezer.move_to(NOW)
    await start_meter(hass)
    on_the_loop: list[str] = []

    def watched(name: str, work: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            if threading.get_ident() == hass.loop_thread_id:
                on_the_loop.append(name)
            return work(*args)

        return run

    for name in ("hours_from_power_statistics", "assemble"):
        monkeypatch.setattr(backfill_module, name, watched(name, getattr(backfill_module, name)))
    monkeypatch.setattr(StateReplay, "feed", watched("feed", StateReplay.feed))
    result = (await backfill(hass))["meters"]["house"]
    assert result["from_statistics_hours"] > 0
    assert result["from_states_buckets"] > 0
    assert on_the_loop == []
