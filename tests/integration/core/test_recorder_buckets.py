"""Recorder history → buckets (history.py): states replayed like live, statistics to hours."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.powerstats.core.accounting import Bucket, Kind, MeterAccumulator
from custom_components.powerstats.core.recorder_buckets import (
    HourStatistic,
    Imported,
    RecordedState,
    StateReplay,
    assemble,
    buckets_from_states,
    days_from_hours,
    hours_from_energy_statistics,
    hours_from_power_statistics,
    hours_from_ten_minutes,
)
from custom_components.powerstats.core.timegrid import day_bounds

from ..household import household_events

AMS = ZoneInfo("Europe/Amsterdam")
KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30: statistics hours straddle local hours
DAY_START = datetime(2026, 11, 20, tzinfo=AMS).timestamp()


def household_states(seconds: float, seed: int = 3) -> list[RecordedState]:
    return [RecordedState(e.t, e.state, "W") for e in household_events(DAY_START, seconds, seed)]


def test_replayed_states_give_the_same_buckets_as_live_tracking() -> None:
    states = household_states(86400)
    live = MeterAccumulator(Kind.POWER, AMS, DAY_START)
    expected: list[Bucket] = []
    for s in states:
        expected += live.feed(s.t, s.state, s.unit)
    expected += live.advance(DAY_START + 86400)
    replayed = buckets_from_states(Kind.POWER, AMS, DAY_START, DAY_START + 86400, states)
    assert replayed == [replace(b, backfill=b.covered) for b in expected]
    assert len(replayed) == 144


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=47), unique=True, max_size=6))
def test_replaying_states_in_chunks_gives_the_same_buckets_as_in_one_go(cuts: list[int]) -> None:
    states = household_states(8 * 3600, seed=5)
    end = DAY_START + 8 * 3600
    whole = buckets_from_states(Kind.POWER, AMS, DAY_START, end, states)
    replay = StateReplay(Kind.POWER, AMS, DAY_START)
    chunked: list[Bucket] = []
    bounds = [DAY_START + c * 600 for c in sorted(cuts)] + [end]
    begin = DAY_START
    for bound in bounds:
        chunked += replay.feed(s for s in states if begin <= s.t < bound)
        begin = bound
    chunked += replay.finish(end)
    assert chunked == whole


def test_the_value_in_effect_before_the_range_holds_from_its_start() -> None:
    older = RecordedState(DAY_START - 5000, "600", "W")
    (bucket,) = buckets_from_states(Kind.POWER, AMS, DAY_START, DAY_START + 600, [older])
    assert bucket.start == DAY_START
    assert bucket.kwh == pytest.approx(0.1)
    assert bucket.backfill == bucket.covered == 600


def test_unavailable_states_are_gaps_in_a_replay() -> None:
    states = [
        RecordedState(DAY_START, "1000", "W"),
        RecordedState(DAY_START + 300, "unavailable", None),
    ]
    (bucket,) = buckets_from_states(Kind.POWER, AMS, DAY_START, DAY_START + 1200, states)
    assert bucket.covered == 300
    assert bucket.kwh == pytest.approx(1000 * 300 / 3.6e6)


def hourly(start: float, means: list[float | None]) -> list[HourStatistic]:
    return [
        HourStatistic(start + i * 3600, mean=m, min=None if m is None else m - 10, max=m and m + 50)
        for i, m in enumerate(means)
    ]


def test_a_power_statistic_gives_its_mean_times_the_hour_as_energy() -> None:
    (hour,) = hours_from_power_statistics(AMS, [HourStatistic(DAY_START, 420.0, 80.0, 2900.0)], "W")
    assert hour.start == DAY_START
    assert hour.kwh == pytest.approx(0.42)
    assert (hour.min_w, hour.max_w) == (80.0, 2900.0)
    assert hour.covered == hour.backfill == 3600
    assert hour.mean_w == pytest.approx(420.0)


def test_hours_without_a_power_statistic_are_gaps() -> None:
    hours = hours_from_power_statistics(AMS, hourly(DAY_START, [100.0, None, 300.0]), "W")
    assert [h.start for h in hours] == [DAY_START, DAY_START + 7200]


def test_a_power_statistic_beyond_any_meter_is_a_gap_and_a_glitching_extreme_is_the_mean() -> None:
    stats = [
        HourStatistic(DAY_START, 1e306),
        HourStatistic(DAY_START + 3600, 420.0, -1e306, 1e306),
    ]
    (hour,) = hours_from_power_statistics(AMS, stats, "kW")
    assert hour.start == DAY_START + 3600
    assert hour.kwh == pytest.approx(420.0)
    assert hour.min_w == hour.max_w == pytest.approx(420_000.0)


def test_power_statistics_in_kilowatts_are_converted_to_watts() -> None:
    (hour,) = hours_from_power_statistics(AMS, [HourStatistic(DAY_START, 1.5, 1.0, 2.0)], "kW")
    assert hour.kwh == pytest.approx(1.5)
    assert (hour.min_w, hour.max_w) == (1000.0, 2000.0)


def test_statistics_in_a_unit_of_another_kind_give_nothing() -> None:
    stats = [HourStatistic(DAY_START, 1.5, 1.0, 2.0, 4.0)]
    assert hours_from_power_statistics(AMS, stats, "kWh") == []
    assert hours_from_energy_statistics(AMS, stats, "W") == []


def test_an_energy_statistic_gives_the_difference_of_consecutive_sums() -> None:
    stats = [HourStatistic(DAY_START + i * 3600, sum=s) for i, s in enumerate([10.0, 10.5, 12.0])]
    hours = hours_from_energy_statistics(AMS, stats, "kWh")
    assert [h.start for h in hours] == [DAY_START + 3600, DAY_START + 7200]
    assert [h.kwh for h in hours] == pytest.approx([0.5, 1.5])
    assert hours[1].min_w == hours[1].max_w == pytest.approx(1500.0)


def test_the_first_energy_hour_after_a_missing_statistic_is_a_gap() -> None:
    stats = [HourStatistic(DAY_START + i * 3600, sum=float(i)) for i in (0, 1, 3, 4)]
    hours = hours_from_energy_statistics(AMS, stats, "Wh")
    assert [h.start for h in hours] == [DAY_START + 3600, DAY_START + 4 * 3600]
    assert hours[0].kwh == pytest.approx(0.001)


def test_statistics_hours_straddling_local_hours_split_by_time_and_keep_their_energy() -> None:
    start = datetime(2026, 11, 20, tzinfo=KOLKATA).timestamp() - 1800  # a UTC hour
    stats = hourly(start, [1000.0] * 48)
    hours = hours_from_power_statistics(KOLKATA, stats, "W")
    assert all(h.seconds == 3600 for h in hours)
    assert math.fsum(h.kwh for h in hours) == pytest.approx(48.0)
    days = days_from_hours(KOLKATA, hours)
    middle = day_bounds(date(2026, 11, 20), KOLKATA)[0]
    day = next(d for d in days if d.start == middle)
    assert day.kwh == pytest.approx(24.0)
    assert day.coverage == 1


@pytest.mark.parametrize("day", [date(2026, 10, 4), date(2026, 4, 5)])
def test_statistics_over_a_half_hour_clock_change_fill_each_local_hour(day: date) -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    begin, end = day_bounds(day, lord_howe)
    first = begin - begin % 3600  # statistics hours start on the UTC hour
    stats = hourly(first, [1000.0] * ((end - first) // 3600 + 1))
    hours = hours_from_power_statistics(lord_howe, stats, "W")
    hours = [h for h in hours if begin <= h.start < end]
    assert [h.start + h.seconds for h in hours[:-1]] == [h.start for h in hours[1:]]
    assert all(h.coverage == 1 and h.kwh == pytest.approx(h.seconds / 3600) for h in hours)
    (rolled,) = [d for d in days_from_hours(lord_howe, hours) if d.start == begin]
    assert rolled.kwh == pytest.approx((end - begin) / 3600)
    assert rolled.coverage == 1


def test_assembled_levels_join_statistics_and_states_without_overlap() -> None:
    stats = hourly(DAY_START, [500.0] * 12)
    from_states = buckets_from_states(
        Kind.POWER,
        AMS,
        DAY_START + 12 * 3600,
        DAY_START + 86400,
        [RecordedState(DAY_START + 12 * 3600, "250", "W")],
    )
    imported = assemble(AMS, from_states, hours_from_power_statistics(AMS, stats, "W"))
    assert len(imported.hours) == 24
    (day,) = imported.days
    assert day.kwh == pytest.approx(12 * 0.5 + 12 * 0.25)
    assert day.covered == day.backfill == 86400
    assert imported.kwh == pytest.approx(day.kwh)


def test_a_replay_with_a_price_prices_each_bucket_as_live_tracking_does() -> None:
    states = household_states(3600)
    priced = buckets_from_states(Kind.POWER, AMS, DAY_START, DAY_START + 3600, states, price=0.3)
    assert len(priced) == 6
    assert [b.cost for b in priced] == pytest.approx([b.kwh * 0.3 for b in priced])


@pytest.mark.parametrize("missing", [None, math.nan, 1e306])
def test_an_energy_statistic_without_a_sum_is_a_gap_and_so_is_the_hour_after(
    missing: float | None,
) -> None:
    sums = [0.0, 1.0, missing, 3.0, 4.0]
    stats = [HourStatistic(DAY_START + i * 3600, sum=s) for i, s in enumerate(sums)]
    hours = hours_from_energy_statistics(AMS, stats, "Wh")
    assert [h.start for h in hours] == [DAY_START + 3600, DAY_START + 4 * 3600]


def test_an_import_says_whether_it_holds_anything_and_how_much_time_it_covers() -> None:
    assert Imported().empty
    assert Imported().covered_seconds == 0
    stats = hourly(DAY_START, [500.0] * 24)
    imported = assemble(AMS, [], hours_from_power_statistics(AMS, stats, "W"))
    assert not imported.empty
    assert imported.covered_seconds == 86400


def test_hours_rolled_up_from_ten_minute_buckets_keep_their_exact_sums() -> None:
    ten_minutes = buckets_from_states(
        Kind.POWER, AMS, DAY_START, DAY_START + 86400, household_states(86400)
    )
    hours = hours_from_ten_minutes(AMS, ten_minutes)
    assert [h.start for h in hours] == [DAY_START + i * 3600 for i in range(24)]
    for i, hour in enumerate(hours):
        children = ten_minutes[i * 6 : i * 6 + 6]
        assert hour.kwh == pytest.approx(math.fsum(b.kwh for b in children), abs=1e-12)
        assert hour.covered == sum(b.covered for b in children)


@pytest.mark.parametrize(("state_class", "kwh"), [("total", -0.1), ("total_increasing", 0.4)])
def test_a_replayed_energy_counter_counts_as_its_state_class_says(
    state_class: str, kwh: float
) -> None:
    states = [
        RecordedState(DAY_START, "0.5", "kWh", state_class),
        RecordedState(DAY_START + 60, "0.4", "kWh", state_class),
    ]

    (bucket,) = buckets_from_states(Kind.ENERGY, AMS, DAY_START, DAY_START + 600, states)

    assert bucket.kwh == pytest.approx(kwh)  # a net counter's decrease, or a reset
