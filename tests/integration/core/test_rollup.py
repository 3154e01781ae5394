"""Rollups and retention (rollup.py): hours and local-calendar days from 10-minute buckets."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.powerstats.core.accounting import Bucket, Kind, MeterAccumulator
from custom_components.powerstats.core.rollup import History
from custom_components.powerstats.core.timegrid import bucket_slot, day_bounds

AMS = ZoneInfo("Europe/Amsterdam")


def steady_day(day: date, watts: float, tz: ZoneInfo = AMS) -> History:
    """A history fed a constant load over one whole local day."""
    start, end = day_bounds(day, tz)
    acc = MeterAccumulator(Kind.POWER, tz, start)
    history = History(tz)
    for bucket in acc.feed(start, str(watts), "W") + acc.advance(end):
        history.add(bucket)
    return history


def test_a_spring_forward_day_is_23_hours_and_holds_all_its_energy() -> None:
    history = steady_day(date(2026, 3, 29), 1000)
    (day,) = history.days.values()
    assert day.seconds == 23 * 3600
    assert day.kwh == pytest.approx(23.0)
    assert len(history.hours) == 23
    assert day.coverage == 1


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 10, 4), 23.5), (date(2026, 4, 5), 24.5)])
def test_a_day_whose_clock_moves_half_an_hour_holds_all_its_energy(day: date, hours: float) -> None:
    # Lord Howe Island moves its clock by 30 minutes: the day's hours after the change start
    # half an hour off the hourly stride from its midnight.
    history = steady_day(day, 1000, ZoneInfo("Australia/Lord_Howe"))
    (rolled,) = history.days.values()
    assert rolled.seconds == hours * 3600
    assert rolled.kwh == pytest.approx(hours)
    assert rolled.coverage == 1


@pytest.mark.parametrize("day", [date(2026, 10, 4), date(2026, 4, 5)])
def test_the_hours_of_a_day_whose_clock_moves_half_an_hour_tile_it(day: date) -> None:
    # The hour the clock moves in is cut at the change: it lasts 30 minutes and holds 30
    # minutes of energy, and every other hour starts where the one before it ended.
    history = steady_day(day, 1000, ZoneInfo("Australia/Lord_Howe"))
    (rolled,) = history.days.values()
    hours = list(history.hours.values())
    assert hours[0].start == rolled.start
    assert [h.start + h.seconds for h in hours[:-1]] == [h.start for h in hours[1:]]
    assert hours[-1].start + hours[-1].seconds == rolled.start + rolled.seconds
    assert sorted({h.seconds for h in hours}) == [1800, 3600]
    assert [h.seconds for h in hours].count(1800) == 1
    assert all(h.coverage == 1 and h.kwh == pytest.approx(h.seconds / 3600) for h in hours)


def test_a_fall_back_day_is_25_hours_and_holds_all_its_energy() -> None:
    history = steady_day(date(2026, 10, 25), 1000)
    (day,) = history.days.values()
    assert day.seconds == 25 * 3600
    assert day.kwh == pytest.approx(25.0)
    assert len(history.hours) == 25


buckets = st.lists(
    st.builds(
        Bucket,
        start=st.integers(min_value=0, max_value=400).map(lambda i: 1_764_115_200 + i * 600),
        seconds=st.just(600),
        kwh=st.floats(min_value=-5, max_value=5),
        covered=st.floats(min_value=0.001, max_value=600),
        min_w=st.floats(min_value=-5000, max_value=5000),
        max_w=st.floats(min_value=-5000, max_value=5000),
        cost=st.one_of(st.none(), st.floats(min_value=0, max_value=3)),
        backfill=st.floats(min_value=0, max_value=600),
    ),
    unique_by=lambda b: b.start,
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(buckets, st.randoms())
def test_the_order_of_rollups_does_not_matter(parts: list[Bucket], rnd: object) -> None:
    shuffled = list(parts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = History(AMS), History(AMS)
    for bucket in parts:
        a.add(bucket)
    for bucket in shuffled:
        b.add(bucket)
    assert a.hours == b.hours
    assert a.days == b.days


def test_retention_keeps_48_hours_of_ten_minutes_8_days_of_hours_and_every_day() -> None:
    start = datetime(2026, 1, 1, tzinfo=AMS).timestamp()
    acc = MeterAccumulator(Kind.POWER, AMS, start)
    history = History(AMS)
    acc.feed(start, "100", "W")
    now = start + 40 * 86400
    for t in range(int(start) + 600, int(now) + 1, 600):
        for bucket in acc.advance(t):
            history.add(bucket)
        history.prune(t)
    assert min(history.ten_minutes) <= now - 48 * 3600
    assert min(history.hours) <= now - 8 * 86400
    assert min(history.ten_minutes) >= now - 50 * 3600
    assert len(history.days) == 40


def test_external_buckets_never_overwrite_what_was_recorded_live() -> None:
    history = steady_day(date(2026, 11, 20), 1000)
    start = min(history.ten_minutes)
    now = start + 86400
    own = history.ten_minutes[start]
    foreign = Bucket(start, 600, 9.0, 600, 1.0, 1.0, None, 600)
    missing = Bucket(start - 600, 600, 0.5, 600, 3000.0, 3000.0, None, 600)
    landed = history.merge_external(now, ten_minutes=[foreign, missing])
    assert landed == 1
    assert history.ten_minutes[start] == own
    assert history.ten_minutes[start - 600] == missing
    previous_day = day_bounds(date(2026, 11, 19), AMS)[0]
    assert history.days[previous_day].backfill == 600


def test_totals_add_the_open_bucket_to_today_week_month_and_year() -> None:
    day = date(2026, 11, 26)  # a Thursday
    start, _ = day_bounds(day, AMS)
    acc = MeterAccumulator(Kind.POWER, AMS, start)
    history = History(AMS)
    for bucket in acc.feed(start, "1000", "W") + acc.advance(start + 3600 + 300):
        history.add(bucket)
    totals = history.totals(start + 3600 + 300, acc.open_bucket())
    assert totals.energy_today == pytest.approx(1000 * 3900 / 3.6e6)
    assert totals.energy_week == pytest.approx(totals.energy_today)
    assert totals.energy_year == pytest.approx(totals.energy_today)
    assert totals.mean_w_today == pytest.approx(1000)
    assert totals.peak_w_today == pytest.approx(1000)
    assert totals.coverage_today == pytest.approx(1)
    assert totals.week_start == day_bounds(date(2026, 11, 23), AMS)[0]


def test_a_saved_history_loads_back_equal() -> None:
    history = steady_day(date(2026, 11, 20), 750)
    loaded = History.from_json(AMS, history.to_json())
    assert loaded.ten_minutes == history.ten_minutes
    assert loaded.hours == history.hours
    assert loaded.days == history.days


def test_external_hours_fill_only_empty_hours_and_roll_into_their_day() -> None:
    history = steady_day(date(2026, 11, 20), 1000)
    day_start, day_end = day_bounds(date(2026, 11, 20), AMS)
    now = day_end + 3600
    own_hour = history.hours[day_start]
    before = history.days[day_start].kwh
    earlier_day = day_bounds(date(2026, 11, 19), AMS)[0]
    foreign = Bucket(day_start, 3600, 9.0, 3600, 1.0, 1.0, None, 3600)
    missing = Bucket(earlier_day + 3600, 3600, 0.25, 3600, 250.0, 250.0, None, 3600)
    landed = history.merge_external(now, hours=[foreign, missing])
    assert landed == 1
    assert history.hours[day_start] == own_hour
    assert history.days[day_start].kwh == before
    assert history.days[earlier_day].kwh == 0.25
    assert history.days[earlier_day].backfill == 3600


def test_external_days_beyond_hourly_retention_are_taken_as_given() -> None:
    history = History(AMS)
    old_start, old_end = day_bounds(date(2025, 1, 10), AMS)
    now = day_bounds(date(2026, 11, 20), AMS)[0]
    old_day = Bucket(old_start, old_end - old_start, 7.0, 86400, 80.0, 2500.0, None, 86400)
    assert history.merge_external(now, days=[old_day, old_day]) == 1
    assert history.days[old_start] == old_day


def test_an_empty_hour_takes_the_hour_given_rather_than_a_rollup_of_part_of_its_children() -> None:
    history = History(AMS)
    day_start, day_end = day_bounds(date(2026, 11, 19), AMS)
    now = day_end + 3600
    hour = day_start + 12 * 3600
    # A published folder: the 10-minute file holds only the hour's last two buckets, the
    # hourly file the whole hour, and the day file the whole day.
    tail = [Bucket(hour + s, 600, 0.1, 600, 600.0, 600.0) for s in (2400, 3000)]
    whole_hour = Bucket(hour, 3600, 0.6, 3600, 500.0, 700.0)
    whole_day = Bucket(day_start, day_end - day_start, 14.4, 86400, 400.0, 900.0)
    history.merge_external(now, ten_minutes=tail, hours=[whole_hour], days=[whole_day])
    assert history.hours[hour] == whole_hour
    assert history.days[day_start] == whole_day
    assert [history.ten_minutes[b.start] for b in tail] == tail


def test_an_hour_holding_live_buckets_is_rolled_up_again_with_the_ones_merged_beside_them() -> None:
    history = History(AMS)
    day_start, day_end = day_bounds(date(2026, 11, 19), AMS)
    now = day_end + 3600
    hour = day_start + 12 * 3600
    live = Bucket(hour, 600, 0.1, 600, 600.0, 600.0)
    history.add(live)
    merged = Bucket(hour + 600, 600, 0.2, 600, 1200.0, 1200.0, None, 600)
    given_hour = Bucket(hour, 3600, 9.9, 3600, 1.0, 1.0)
    given_day = Bucket(day_start, day_end - day_start, 99.0, 86400, 1.0, 1.0)
    landed = history.merge_external(now, ten_minutes=[merged], hours=[given_hour], days=[given_day])
    assert landed == 1
    assert history.ten_minutes[hour] == live
    assert history.hours[hour].kwh == pytest.approx(0.3)
    assert history.days[day_start].kwh == pytest.approx(0.3)


def test_a_whole_day_is_not_replaced_by_the_sum_of_hours_merged_after_it() -> None:
    history = History(AMS)
    day_start, day_end = day_bounds(date(2026, 11, 19), AMS)
    now = day_end + 3600
    # Restored from a day file first, then its hours from an hour file, rounded apart.
    whole_day = Bucket(day_start, day_end - day_start, 14.4, 86400, 400.0, 900.0)
    history.merge_external(now, days=[whole_day])
    hours = [Bucket(s, 3600, 0.60004, 3600, 500.0, 700.0) for s in range(day_start, day_end, 3600)]
    assert history.merge_external(now, hours=hours) == 24
    assert history.days[day_start] == whole_day


KATHMANDU = ZoneInfo("Asia/Kathmandu")  # +05:45: its hours and 10 minutes start off UTC's


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2 * 86400), st.floats(0, 5000)), max_size=40),
    st.sampled_from(["UTC", "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe"]),
    st.integers(0, 47 * 3600),
)
def test_a_move_by_part_of_an_hour_puts_every_bucket_on_the_new_grid_with_its_energy(
    readings: list[tuple[int, float]], zone: str, later: int
) -> None:
    start = int(datetime(2026, 11, 24, tzinfo=KATHMANDU).timestamp())
    acc = MeterAccumulator(Kind.POWER, KATHMANDU, start)
    kept = History(KATHMANDU)
    for t, watts in sorted(readings):
        for bucket in acc.feed(start + t, str(watts), "W"):
            kept.add(bucket)
    for bucket in acc.advance(start + 2 * 86400):
        kept.add(bucket)
    kept.prune(start + 2 * 86400 + later)  # the oldest hours may have lost their 10 minutes
    tz = ZoneInfo(zone)
    moved = History.from_json(tz, kept.to_json())

    moved.move_from_zone(KATHMANDU)

    for level, slot in ((moved.ten_minutes, "10min"), (moved.hours, "hour")):
        assert [(b.start, b.seconds) for b in level.values()] == [
            bucket_slot(slot, b.start, tz) for b in level.values()
        ]
        assert all(b.covered <= b.seconds + 1e-6 for b in level.values())
    for before, after in ((kept.ten_minutes, moved.ten_minutes), (kept.hours, moved.hours)):
        assert sum(b.kwh for b in after.values()) == pytest.approx(
            sum(b.kwh for b in before.values()), abs=1e-9
        )
        assert sum(b.covered for b in after.values()) == pytest.approx(
            sum(b.covered for b in before.values()), abs=1e-6
        )
