"""Live tracking in a real HA core: state changes and the clock become buckets and files."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import jsonschema
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)

from custom_components.powerstats.const import meter_store_key
from custom_components.powerstats.core.accounting import Bucket
from custom_components.powerstats.core.views import LEVELS
from custom_components.powerstats.meter import PowerStatsMeter
from custom_components.powerstats.store import MeterStore

from .conftest import (
    AMSTERDAM,
    HOUSE,
    SOURCE,
    Clock,
    at,
    make_entry,
    meter_of,
    meter_subentry,
    served,
)
from .household import exact_bucket_kwh, household_events

W = {"unit_of_measurement": "W"}
SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "powerstats-1.schema.json").read_text()
)


async def start_meter(hass: HomeAssistant, **kwargs: object) -> PowerStatsMeter:
    entry = make_entry(**kwargs)  # type: ignore[arg-type]
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return meter_of(entry)


async def test_a_steady_load_fills_a_bucket_and_its_row_in_the_daily_file(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "1200", W)
    meter = await start_meter(ha)
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert bucket.kwh == pytest.approx(0.2)
    assert bucket.covered == 600
    daily = json.loads(served(ha, "house/daily.json"))
    assert daily["rows"][-2][:6] == [
        int(at(2026, 11, 26, 12, 0).timestamp()),
        0.2,
        1200,
        1200,
        1200,
        1,
    ]
    manifest = json.loads(served(ha, "manifest.json"))
    assert [m["id"] for m in manifest["meters"]] == ["house"]


async def test_a_state_stamped_ahead_of_the_clock_counts_from_when_it_arrived(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "1200", W)
    meter = await start_meter(ha)
    await move_to(at(2026, 11, 26, 12, 5))
    # Stamped an hour ahead (set with a timestamp of its own, or by a clock put back since):
    # the new load holds from the moment it is seen, not from a time still to come.
    ahead = at(2026, 11, 26, 13, 5).timestamp()
    ha.states.async_set(SOURCE, "2400", W, timestamp=ahead)
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert bucket.kwh == pytest.approx(0.1 + 0.2)
    assert bucket.max_w == 2400


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


async def walk(move_to: Clock, start: datetime, end: datetime, step: int = 10) -> None:
    """Let the clock run from `start` to `end`, stopping every `step` minutes."""
    t = start
    while t < end:
        t = min(end, t + timedelta(minutes=step))
        await move_to(t)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)],
    ids=["spring-forward", "fall-back"],
)
async def test_a_dst_day_holds_exactly_its_hours_of_energy(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, day: date, hours: int
) -> None:
    start = datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)
    freezer.move_to(start)
    ha.states.async_set(SOURCE, "1000", W)
    meter = await start_meter(ha)
    await walk(move_to, start, end, step=60)
    bucket = meter.history.days[int(start.timestamp())]
    assert bucket.seconds == hours * 3600
    assert bucket.kwh == pytest.approx(hours)
    assert bucket.coverage == 1
    # The monthly file takes in the hour that closed at midnight at the hour's second boundary.
    await move_to(end + timedelta(minutes=10))
    monthly = json.loads(served(ha, "house/monthly.json"))
    row = next(r for r in monthly["rows"] if r[0] == int(start.timestamp()))
    assert row[1:6] == [hours, 1000, 1000, 1000, 1]


async def test_unavailable_periods_are_gaps_in_coverage(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "600", W)
    meter = await start_meter(ha)
    freezer.move_to(at(2026, 11, 26, 12, 2))
    ha.states.async_set(SOURCE, "unavailable", W)
    freezer.move_to(at(2026, 11, 26, 12, 6))
    ha.states.async_set(SOURCE, "600", W)
    freezer.move_to(at(2026, 11, 26, 12, 8))
    ha.states.async_set(SOURCE, "unknown", W)
    await move_to(at(2026, 11, 26, 12, 30))
    first = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert first.covered == 240
    assert first.mean_w == pytest.approx(600)
    assert int(at(2026, 11, 26, 12, 10).timestamp()) not in meter.history.ten_minutes
    daily = json.loads(served(ha, "house/daily.json"))
    assert daily["rows"][-2][1:6] == [None, None, None, None, 0]


async def test_a_reading_beyond_any_meter_is_a_gap_and_the_files_go_on_updating(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    # Counted, 1e306 kW would make the bucket's energy infinite, which no file can hold.
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "600", W)
    meter = await start_meter(ha)
    freezer.move_to(at(2026, 11, 26, 12, 2))
    ha.states.async_set(SOURCE, "1e306", {"unit_of_measurement": "kW"})
    freezer.move_to(at(2026, 11, 26, 12, 6))
    ha.states.async_set(SOURCE, "600", W)
    await move_to(at(2026, 11, 26, 12, 30))
    first = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert (first.covered, first.max_w) == (360, 600)
    rows = json.loads(served(ha, "house/daily.json"))["rows"]
    assert [row[1:6] for row in rows[-4:-1]] == [
        [0.06, 600, 600, 600, 0.6],
        [0.1, 600, 600, 600, 1],
        [0.1, 600, 600, 600, 1],
    ]


async def test_a_unit_attribute_that_is_no_text_is_a_gap_not_the_last_value_held(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    # Any caller can write a state (HA's REST API takes any JSON): a list as the unit made the
    # state listener raise, and the 600 W read before went on being counted through it.
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "600", W)
    meter = await start_meter(ha)
    freezer.move_to(at(2026, 11, 26, 12, 2))
    ha.states.async_set(SOURCE, "600", {"unit_of_measurement": ["W"]})
    freezer.move_to(at(2026, 11, 26, 12, 6))
    ha.states.async_set(SOURCE, "600", W)
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert bucket.covered == 360
    assert bucket.kwh == pytest.approx(0.06)


async def test_a_total_increasing_counter_below_zero_is_a_gap_and_logged_as_one(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A counter read as a signed number that wraps below zero, once: counted, the glitch was a
    # reset and the return an increase of the whole 5000 kWh.
    counter = {"unit_of_measurement": "kWh", "state_class": "total_increasing"}
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set("sensor.grid_energy", "5000.0", counter)
    meter = await start_meter(ha, entity_id="sensor.grid_energy", kind="energy")
    for minute, state in [(2, "5000.2"), (4, "-2147483.648"), (6, "5000.4"), (8, "5000.5")]:
        freezer.move_to(at(2026, 11, 26, 12, minute))
        ha.states.async_set("sensor.grid_energy", state, counter)
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    # +0.2, then a gap: 5000.4 is a new baseline, +0.1
    assert bucket.kwh == pytest.approx(0.3)
    assert bucket.covered == 4 * 60 + 4 * 60
    logged = [r.getMessage() for r in caplog.records if "sensor.grid_energy has" in r.getMessage()]
    assert logged == [
        "sensor.grid_energy has no valid energy value (-2147483.648); not covered until it returns",
        "sensor.grid_energy has a valid value again; covered from now on",
    ]


async def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "600", W)
    await start_meter(ha)
    for state in ("unavailable", "unknown", "unavailable", "700", "800", "unavailable", "650"):
        ha.states.async_set(SOURCE, state, W)
        await ha.async_block_till_done()
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("custom_components.powerstats") and r.levelname == "INFO"
    ]
    assert [m for m in logged if SOURCE in m and "valid" in m] == [
        f"{SOURCE} has no valid power value (unavailable); not covered until it returns",
        f"{SOURCE} has a valid value again; covered from now on",
        f"{SOURCE} has no valid power value (unavailable); not covered until it returns",
        f"{SOURCE} has a valid value again; covered from now on",
    ]


async def test_a_unit_change_midway_is_converted(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "1500", W)
    meter = await start_meter(ha)
    freezer.move_to(at(2026, 11, 26, 12, 5))
    ha.states.async_set(SOURCE, "0.5", {"unit_of_measurement": "kW"})
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert bucket.kwh == pytest.approx((1500 + 500) * 300 / 3.6e6)
    assert (bucket.min_w, bucket.max_w) == (500, 1500)


async def test_an_energy_sensor_with_a_meter_reset_counts_every_increase(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    kwh = {"unit_of_measurement": "kWh"}
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set("sensor.grid_energy", "5000.0", kwh)
    meter = await start_meter(ha, entity_id="sensor.grid_energy", kind="energy")
    for minute, state in [(2, "5000.3"), (4, "0.1"), (6, "0.4"), (8, "0.9")]:
        freezer.move_to(at(2026, 11, 26, 12, minute))
        ha.states.async_set("sensor.grid_energy", state, kwh)
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    # +0.3, then the meter restarted from 0 (+0.1), +0.3, +0.5
    assert bucket.kwh == pytest.approx(1.2)
    assert bucket.covered == 600


async def test_a_net_energy_counter_below_zero_counts_its_export_as_negative_energy(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    net = {"unit_of_measurement": "kWh", "device_class": "energy", "state_class": "total"}
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set("sensor.grid_net", "-100.0", net)
    meter = await start_meter(ha, entity_id="sensor.grid_net", kind="energy")
    # One state without its state class: the meter goes on counting it as a net counter.
    steps = [(2, "-100.4", net), (4, "-100.5", {"unit_of_measurement": "kWh"})]
    for minute, state, attributes in [*steps, (6, "-100.3", net), (8, "-101.0", net)]:
        freezer.move_to(at(2026, 11, 26, 12, minute))
        ha.states.async_set("sensor.grid_net", state, attributes)
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert bucket.kwh == pytest.approx(-1.0)
    assert bucket.covered == 600


async def test_a_net_energy_counter_starts_a_new_cycle_at_its_last_reset(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    def net(last_reset: datetime) -> dict[str, str]:
        return {
            "unit_of_measurement": "kWh",
            "state_class": "total",
            "last_reset": last_reset.isoformat(),
        }

    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set("sensor.grid_net", "7.0", net(at(2026, 11, 26, 0, 0)))
    meter = await start_meter(ha, entity_id="sensor.grid_net", kind="energy")
    for minute, state, cycle in [(2, "7.5", 0), (4, "0.2", 12), (6, "0.1", 12)]:
        freezer.move_to(at(2026, 11, 26, 12, minute))
        ha.states.async_set("sensor.grid_net", state, net(at(2026, 11, 26, cycle, 0)))
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    # +0.5, then a new cycle from 0 (+0.2), then 0.1 kWh the other way
    assert bucket.kwh == pytest.approx(0.5 + 0.2 - 0.1)


async def test_a_price_sensor_gives_the_exact_cost(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "3000", W)
    ha.states.async_set("sensor.price", "0.40", {})
    meter = await start_meter(ha, options={"price_mode": "entity", "price_entity": "sensor.price"})
    freezer.move_to(at(2026, 11, 26, 12, 4))
    ha.states.async_set("sensor.price", "0.10", {})
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert bucket.cost == pytest.approx(3 * 4 / 60 * 0.40 + 3 * 6 / 60 * 0.10)
    cost_today = ha.states.get("sensor.house_cost_today")
    assert cost_today is not None
    assert float(cost_today.state) == pytest.approx(bucket.cost)
    assert cost_today.attributes["unit_of_measurement"] == "EUR"


async def test_a_price_in_cents_counts_in_whole_currency_and_one_in_another_is_unknown(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "3000", W)
    ha.states.async_set("sensor.price", "40", {"unit_of_measurement": "ct/kWh"})
    meter = await start_meter(ha, options={"price_mode": "entity", "price_entity": "sensor.price"})
    freezer.move_to(at(2026, 11, 26, 12, 5))
    ha.states.async_set("sensor.price", "0.40", {"unit_of_measurement": "USD/kWh"})
    await move_to(at(2026, 11, 26, 12, 10))
    bucket = meter.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    # 0.25 kWh in five minutes at 0.40 EUR per kWh (not 40); then a price in dollars, which
    # Home Assistant (in euros) cannot add up: that time counts no cost, as time without a price.
    assert bucket.cost == pytest.approx(0.25 * 0.40)
    assert bucket.kwh == pytest.approx(0.5)


async def test_every_file_validates_against_the_schema(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    start = at(2026, 11, 26, 0, 0)
    freezer.move_to(start)
    meter = await start_meter(ha, options={"price_mode": "fixed", "price": 0.25})
    for event in household_events(start.timestamp(), 6 * 3600, seed=5)[::20]:
        freezer.move_to(datetime.fromtimestamp(event.t, AMSTERDAM))
        ha.states.async_set(SOURCE, event.state, W)
    now = datetime.fromtimestamp(freezer_time(ha), AMSTERDAM)
    await walk(move_to, now, start + timedelta(hours=7))
    paths = ["manifest.json", *(f"house/{level}.json" for level in meter.config.levels)]
    for path in paths:
        doc = json.loads(served(ha, f"{path}"))
        jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    manifest = json.loads(served(ha, "manifest.json"))
    for level, entry in manifest["meters"][0]["files"].items():
        data = served(ha, f"{entry['path']}")
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), level
        assert entry["bytes"] == len(data)


def freezer_time(hass: HomeAssistant) -> float:
    return dt_util.utcnow().timestamp()


async def test_a_file_is_rewritten_only_when_its_bytes_change(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "100", W)
    meter = await start_meter(ha)
    await move_to(at(2026, 11, 26, 12, 10))
    again = await meter.entry.runtime_data.writer.async_refresh()
    assert again.changed == ()
    await move_to(at(2026, 11, 26, 12, 20))
    later = await meter.entry.runtime_data.writer.async_refresh(
        int(at(2026, 11, 26, 12, 20).timestamp())
    )
    assert later.changed == ()
    forced = await meter.entry.runtime_data.writer.async_refresh(force=True)
    assert set(forced.changed) == {"manifest.json", *(f"house/{lv}.json" for lv in LEVELS)}


async def test_several_meters_share_one_manifest(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "100", W)
    ha.states.async_set("sensor.solar", "-800", W)
    house = await start_meter(
        ha,
        meters=[
            meter_subentry(),
            meter_subentry("sensor.solar", "Solar", "solar", levels=["yearly"]),
        ],
    )
    solar = meter_of(house.entry, "solar")
    await move_to(at(2026, 11, 26, 12, 10))
    manifest = json.loads(served(ha, "manifest.json"))
    assert [m["id"] for m in manifest["meters"]] == ["house", "solar"]
    assert list(manifest["meters"][1]["files"]) == ["yearly"]
    assert solar.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())].kwh == pytest.approx(
        -800 / 6000
    )
    ha.config_entries.async_remove_subentry(house.entry, solar.subentry_id)
    await ha.async_block_till_done()
    manifest = json.loads(served(ha, "manifest.json"))
    assert [m["id"] for m in manifest["meters"]] == ["house"]


async def test_a_stored_number_no_file_can_hold_leaves_its_file_as_it_was_and_the_rest_going_on(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "100", W)
    ha.states.async_set("sensor.solar", "-800", W)
    house = await start_meter(
        ha, meters=[meter_subentry(), meter_subentry("sensor.solar", "Solar", "solar")]
    )
    await move_to(at(2026, 11, 26, 12, 10))
    kept = served(ha, "house/daily.json")
    # As an older version could store it: an energy whose mean power overflows to infinity.
    start = int(at(2026, 11, 26, 11, 50).timestamp())
    house.history.add(Bucket(start, 600, 1e306, 600, 100.0, 100.0))
    await move_to(at(2026, 11, 26, 12, 20))
    assert served(ha, "house/daily.json") == kept
    assert "Could not render house/daily.json; its last version stays" in caplog.text
    mean_today = ha.states.get("sensor.house_mean_power_today")
    assert mean_today is not None
    assert mean_today.state == "unknown"
    solar = json.loads(served(ha, "solar/daily.json"))["rows"]
    assert solar[-2][0] == int(at(2026, 11, 26, 12, 10).timestamp())
    assert solar[-2][1] == pytest.approx(-800 / 6000, abs=1e-4)
    await move_to(at(2026, 11, 26, 12, 30))
    assert caplog.text.count("Could not render house/daily.json") == 1  # not every boundary


async def test_an_entity_ha_refuses_to_write_stops_neither_its_meter_nor_the_others(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "600", W)
    ha.states.async_set("sensor.solar", "-800", W)
    house = await start_meter(
        ha, meters=[meter_subentry(), meter_subentry("sensor.solar", "Solar", "solar")]
    )
    energy_today = ha.data["sensor"].get_entity("sensor.house_energy_today")

    def refused() -> None:
        raise ValueError("state refused")

    energy_today.async_write_ha_state = refused
    await move_to(at(2026, 11, 26, 12, 10))
    await move_to(at(2026, 11, 26, 12, 20))
    # The meter that owns the entity keeps and saves its buckets and files ...
    house_rows = json.loads(served(ha, "house/daily.json"))["rows"]
    assert house_rows[-2][0] == int(at(2026, 11, 26, 12, 10).timestamp())
    assert house_rows[-2][1] == pytest.approx(0.1)
    saved = [row[0] for line in await house.store.async_read_journal() for row in line["b"]]
    assert int(at(2026, 11, 26, 12, 10).timestamp()) in saved
    # ... its other entities and the other meter go on ...
    mean_today = ha.states.get("sensor.house_mean_power_today")
    assert mean_today is not None
    assert float(mean_today.state) == pytest.approx(600)
    solar_rows = json.loads(served(ha, "solar/daily.json"))["rows"]
    assert solar_rows[-2][0] == int(at(2026, 11, 26, 12, 10).timestamp())
    # ... and the refusal is logged once, not at every boundary.
    assert caplog.text.count("Could not update an entity of meter house") == 1


async def test_a_renamed_price_entity_is_followed(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    entity_registry: er.EntityRegistry,
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entity_registry.async_get_or_create("sensor", "demo", "tariff-1", suggested_object_id="price")
    ha.states.async_set(SOURCE, "3000", W)
    ha.states.async_set("sensor.price", "0.40", {"unit_of_measurement": "EUR/kWh"})
    meter = await start_meter(ha, options={"price_mode": "entity", "price_entity": "sensor.price"})
    entity_registry.async_update_entity("sensor.price", new_entity_id="sensor.tariff")
    await ha.async_block_till_done()
    ha.states.async_set("sensor.tariff", "0.40", {"unit_of_measurement": "EUR/kWh"})
    await move_to(at(2026, 11, 26, 12, 10))
    assert meter.entry.subentries[meter.subentry_id].data["price_entity"] == "sensor.tariff"
    reloaded = meter_of(meter.entry, meter.config.meter_id)
    bucket = reloaded.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    assert bucket.cost == pytest.approx(0.5 * 0.40)


async def test_a_renamed_source_entity_is_followed(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    entity_registry: er.EntityRegistry,
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entity_registry.async_get_or_create(
        "sensor", "demo", "meter-1", suggested_object_id="house_power"
    )
    ha.states.async_set(SOURCE, "600", W)
    meter = await start_meter(ha)
    entity_registry.async_update_entity(SOURCE, new_entity_id="sensor.mains_power")
    await ha.async_block_till_done()
    freezer.move_to(at(2026, 11, 26, 12, 5))
    ha.states.async_set("sensor.mains_power", "1200", W)
    await move_to(at(2026, 11, 26, 12, 10))
    assert meter.entry.subentries[meter.subentry_id].data["entity_id"] == "sensor.mains_power"
    reloaded = meter_of(meter.entry, meter.config.meter_id)
    bucket = reloaded.history.ten_minutes[int(at(2026, 11, 26, 12, 0).timestamp())]
    # The renamed entity had no state until 12:05 (states set by hand do not move with a rename).
    assert bucket.covered == 300
    assert bucket.kwh == pytest.approx(1200 * 300 / 3.6e6)


# HA cannot unload the dataset after that: its timers are still there when the test ends.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_a_removed_meter_running_on_after_a_failed_unload_follows_no_rename_of_its_sensor(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    entity_registry: er.EntityRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entity_registry.async_get_or_create(
        "sensor", "demo", "meter-1", suggested_object_id="house_power"
    )
    ha.states.async_set(SOURCE, "600", W)
    ha.states.async_set("sensor.solar", "-300", W)
    meter = await start_meter(
        ha, meters=[meter_subentry(), meter_subentry("sensor.solar", "Solar", "solar")]
    )
    entry = meter.entry
    unload = ha.config_entries.async_forward_entry_unload

    async def switch_stays(unloading: MockConfigEntry, platform: Platform | str) -> bool:
        return False if platform == Platform.SWITCH else await unload(unloading, platform)

    monkeypatch.setattr(ha.config_entries, "async_forward_entry_unload", switch_stays)
    ha.config_entries.async_remove_subentry(entry, HOUSE)
    await ha.async_block_till_done()
    assert entry.state is ConfigEntryState.FAILED_UNLOAD  # the House meter runs on, removed

    caplog.clear()
    entity_registry.async_update_entity(SOURCE, new_entity_id="sensor.mains_power")
    await ha.async_block_till_done()

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert HOUSE not in entry.subentries
    assert entry.subentries["subentry_solar"].data["entity_id"] == "sensor.solar"


async def test_a_boundary_that_comes_while_the_meter_stops_writes_nothing_after_the_stop(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "1200", W)
    meter = await start_meter(ha)
    await move_to(at(2026, 11, 26, 12, 10))
    writes: list[str] = []
    save, append = MeterStore.async_save, MeterStore.async_append

    async def stop_save(store: MeterStore, data: Any) -> None:
        writes.append("snapshot")
        if writes == ["snapshot"]:
            # The 12:20 tick comes while the stop's snapshot is being written.
            freezer.move_to(at(2026, 11, 26, 12, 20))
            meter.async_close_due(int(at(2026, 11, 26, 12, 20).timestamp()))
        await save(store, data)

    async def counted_append(store: MeterStore, line: bytes) -> None:
        writes.append("journal line")
        await append(store, line)

    with (
        patch.object(MeterStore, "async_save", stop_save),
        patch.object(MeterStore, "async_append", counted_append),
    ):
        assert await ha.config_entries.async_unload(meter.entry.entry_id)
        await ha.async_block_till_done()
    # Whatever follows the stop's snapshot belongs to a successor or, the meter removed, to
    # nobody: a journal line written after it would outlive the store it belongs to.
    assert writes == ["snapshot"]


async def test_buckets_merged_into_a_stopped_meter_are_not_saved_and_it_says_so(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, hass_storage: dict[str, Any]
) -> None:
    # A restore read its source while the dataset reloaded: the meter it holds has stopped.
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "1200", W)
    meter = await start_meter(ha)
    assert await ha.config_entries.async_unload(meter.entry.entry_id)
    at_stop = json.dumps(hass_storage[meter_store_key(HOUSE)])

    with pytest.raises(HomeAssistantError) as stopped:
        await meter.async_history_merged(at(2026, 11, 26, 12, 5).timestamp())
    await ha.async_block_till_done()

    assert stopped.value.translation_key == "meter_stopped"
    assert json.dumps(hass_storage[meter_store_key(HOUSE)]) == at_stop
