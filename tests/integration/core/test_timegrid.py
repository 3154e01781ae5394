"""The time grid (core/timegrid.py): hours follow the local clock in every time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.powerstats.core.timegrid import (
    HOUR,
    hour_seconds,
    hour_start,
    hours_ending,
    ten_minute_start,
    utc_offset,
)

CHATHAM = ZoneInfo("Pacific/Chatham")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
# The Chatham Islands (+12:45/+13:45) change their clocks at 02:45/03:45 local, 14:00 UTC: off
# the 10-minute grid, in the middle of an hour.
CHATHAM_CHANGES = [
    int(datetime(2025, 4, 5, 14, 0, tzinfo=UTC).timestamp()),  # 03:45 -> 02:45
    int(datetime(2025, 9, 27, 14, 0, tzinfo=UTC).timestamp()),  # 02:45 -> 03:45
]
# Zones whose clocks changed off the whole hour or by other than an hour since 2012.
ODD_ZONES = [
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "Antarctica/Casey",
    "Antarctica/Troll",
    "Asia/Pyongyang",
    "America/Caracas",
    "Africa/Casablanca",
    "Europe/Amsterdam",
]
ALL_ZONES = sorted(available_timezones())


def changes_in(year: int, tz: ZoneInfo) -> list[int]:
    """The instants the zone's UTC offset changed in `year` (UTC), to the second."""
    t = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    found: list[int] = []
    while t < end:  # offsets hold for weeks: step a day, then bisect
        if utc_offset(t + 86400, tz) != utc_offset(t, tz):
            before, after = t, t + 86400
            while after - before > 1:
                middle = (before + after) // 2
                if utc_offset(middle, tz) == utc_offset(t, tz):
                    before = middle
                else:
                    after = middle
            found.append(after)
        t += 86400
    return found


@pytest.mark.parametrize("change", CHATHAM_CHANGES)
def test_an_hour_a_whole_hour_change_falls_in_lasts_60_minutes_and_starts_before_it(
    change: int,
) -> None:
    start = change - 45 * 60  # 02:00 (+12:45) or 03:00 (+13:45): the last whole hour
    for t in range(start, start + HOUR, 60):
        assert hour_start(t, CHATHAM) == start
    assert hour_seconds(start, CHATHAM) == HOUR


@pytest.mark.parametrize("change", CHATHAM_CHANGES)
def test_a_week_of_hours_across_a_chatham_clock_change_has_168_distinct_hours(
    change: int,
) -> None:
    starts, seconds = hours_ending(hour_start(change + 3 * 86400, CHATHAM), 168, CHATHAM)
    assert len(set(starts)) == 168
    assert all(a + s == b for a, s, b in zip(starts, seconds, starts[1:], strict=False))
    assert sum(seconds) == 168 * HOUR


def test_the_hour_a_half_hour_change_falls_in_is_cut_at_the_change() -> None:
    changes = changes_in(2025, LORD_HOWE)
    (change,) = [c for c in changes if utc_offset(c, LORD_HOWE) > utc_offset(c - 1, LORD_HOWE)]
    assert hour_start(change + 60, LORD_HOWE) == change
    assert hour_seconds(change, LORD_HOWE) == 1800
    assert hour_start(change - 60, LORD_HOWE) == change - HOUR


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.sampled_from(ODD_ZONES), st.sampled_from(ALL_ZONES)),
    st.integers(min_value=2012, max_value=2027),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=-3 * HOUR, max_value=3 * HOUR),
)
def test_hours_tile_time_and_hold_their_ten_minute_buckets_in_every_zone(
    name: str, year: int, which: int, around: int
) -> None:
    tz = ZoneInfo(name)
    changes = changes_in(year, tz) or [int(datetime(year, 7, 1, tzinfo=UTC).timestamp())]
    t = changes[which % len(changes)] + around
    start = hour_start(t, tz)
    assert start <= t < start + hour_seconds(start, tz)
    ten = ten_minute_start(t, tz)
    assert start <= ten
    assert ten + 600 <= start + hour_seconds(start, tz)
    starts, seconds = hours_ending(hour_start(t + 6 * HOUR, tz), 24, tz)
    assert all(a + s == b for a, s, b in zip(starts, seconds, starts[1:], strict=False))
    assert set(seconds) <= {1800, HOUR}
