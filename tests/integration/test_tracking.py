"""Live tracking in a real HA core: state changes and the clock become buckets and files."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from custom_components.powerstats.runtime import PowerStatsMeter

from .conftest import SOURCE, Clock, at, make_entry, read_file
from .household import exact_bucket_kwh, household_events

W = {"unit_of_measurement": "W"}


async def start_meter(hass: HomeAssistant, **kwargs: object) -> PowerStatsMeter:
    entry = make_entry(**kwargs)  # type: ignore[arg-type]
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    meter: PowerStatsMeter = entry.runtime_data
    return meter


async def test_a_steady_load_fills_a_bucket_and_writes_the_files(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "1200", W)
    meter = await start_meter(ha)
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert bucket.kwh == pytest.approx(0.2)
    assert bucket.covered == 600
    daily = json.loads(await read_file(ha, "powerstats/house/daily.json"))
    assert daily["rows"][-2][:6] == [
        int(at(2026, 11, 26, 12, 0).timestamp()),
        0.2,
        1200,
        1200,
        1200,
        1,
    ]
    manifest = json.loads(await read_file(ha, "powerstats/manifest.json"))
    assert [m["id"] for m in manifest["meters"]] == ["house"]


async def test_a_replayed_household_day_matches_the_exact_integral_in_every_bucket(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    start = at(2026, 11, 26, 0, 0)
    freezer.move_to(start - timedelta(minutes=1))
    meter = await start_meter(ha)
    events = household_events(start.timestamp(), 86400, seed=7)
    boundary = start.timestamp() + 600
    for event in events:
        while event.t >= boundary:
            await move_to(start + timedelta(seconds=boundary - start.timestamp()))
            boundary += 600
        freezer.move_to(start + timedelta(seconds=event.t - start.timestamp()))
        ha.states.async_set(SOURCE, event.state, W)
    await move_to(start + timedelta(days=1))
    starts = [int(start.timestamp()) + i * 600 for i in range(144)]
    exact = exact_bucket_kwh(events, start.timestamp() + 86400, starts, 600)
    for s in starts:
        assert round(meter.history.ten_minutes[s].kwh, 4) == round(exact[s], 4)
    day = meter.history.days[int(start.timestamp())]
    assert round(day.kwh, 4) == round(sum(exact.values()), 4)
