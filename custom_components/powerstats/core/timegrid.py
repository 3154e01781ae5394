"""The time grid: where 10-minute, hour and day buckets start on the local clock.

Pure: no Home Assistant import and no clock reads. Times are Unix seconds (UTC); the local
clock is whatever `tzinfo` the caller passes (HA's configured time zone in the integration).
"""

from __future__ import annotations

import functools
import math
from datetime import date, datetime, timedelta, tzinfo
from typing import Final

TEN_MINUTES: Final = 600
HOUR: Final = 3600
DAY: Final = 86400


def utc_offset(t: float, tz: tzinfo) -> int:
    """Seconds the local clock is ahead of UTC at instant `t`."""
    offset = datetime.fromtimestamp(t, tz).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def grid_start(t: float, tz: tzinfo, size: int) -> int:
    """Start of the `size`-second bucket holding `t`, aligned to the local clock.

    Offsets like +05:45 shift the grid against UTC, so alignment is done on local time.
    """
    whole = math.floor(t)
    return whole - (whole + utc_offset(whole, tz)) % size


def ten_minute_start(t: float, tz: tzinfo) -> int:
    """Start of the 10-minute bucket holding `t`."""
    return grid_start(t, tz, TEN_MINUTES)


def hour_start(t: float, tz: tzinfo) -> int:
    """Start of the local clock hour holding `t` (never after `t`).

    Hours start where the local clock reads a whole hour. A change by whole hours keeps those
    instants, wherever on the clock it falls (02:45 on the Chatham Islands): the hour it falls
    in lasts 60 minutes. A change by half an hour (Lord Howe Island) moves them: the hour it
    falls in is cut at the change, so hours still tile time, each within one hour of the local
    clock, and the one after the change lasts 30 minutes.
    """
    whole = math.floor(t)
    offset = utc_offset(whole, tz)
    start = whole - (whole + offset) % HOUR
    if (utc_offset(start, tz) - offset) % HOUR == 0:
        return start
    return _change_in(start, whole, tz)


def _change_in(before: int, after: int, tz: tzinfo) -> int:
    """The instant in (`before`, `after`] the UTC offset changed: the first second with the
    offset in effect at `after` (clock changes are months apart, so there is one)."""
    offset = utc_offset(after, tz)
    while after - before > 1:
        middle = (before + after) // 2
        if utc_offset(middle, tz) == offset:
            after = middle
        else:
            before = middle
    return after


@functools.lru_cache(maxsize=2048)
def hour_seconds(start: int, tz: tzinfo) -> int:
    """Length of the local hour starting at `start`: 3,600 s, or 1,800 where it is cut at a
    change of half an hour (clock changes are months apart, so the next hour is whole)."""
    return hour_start(start + HOUR, tz) - start


@functools.lru_cache(maxsize=8)
def hours_ending(last: int, count: int, tz: tzinfo) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Starts and lengths of the `count` local hours through the one starting at `last`.

    Walked back an hour at a time, not a fixed stride from `last`: across a change of half an
    hour the earlier hours are half an hour off it. Every meter asks for the same hours.
    """
    starts = [last]
    for _ in range(count - 1):
        starts.append(hour_start(starts[-1] - 1, tz))
    starts.reverse()
    return tuple(starts), tuple(hour_seconds(s, tz) for s in starts)


def hours_between(begin: int, end: int, tz: tzinfo) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Starts and lengths of the local hours from `begin` (an hour's start) until `end`."""
    starts: list[int] = []
    seconds: list[int] = []
    start = begin
    while start < end:
        starts.append(start)
        seconds.append(hour_seconds(start, tz))
        start += seconds[-1]
    return tuple(starts), tuple(seconds)


def local_date(t: float, tz: tzinfo) -> date:
    """The local calendar date at instant `t`."""
    return datetime.fromtimestamp(t, tz).date()


# Every meter asks for the same few midnights (today's, the week's, the month's, the year's) at
# every boundary; a day's midnight never moves.
@functools.lru_cache(maxsize=2048)
def midnight(day: date, tz: tzinfo) -> int:
    """Instant the local calendar `day` begins (a day may be 23, 24 or 25 hours long)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def day_start(t: float, tz: tzinfo) -> int:
    """Start of the local calendar day holding `t`."""
    return midnight(local_date(t, tz), tz)


def day_bounds(day: date, tz: tzinfo) -> tuple[int, int]:
    """Start and end instants of a local calendar day."""
    return midnight(day, tz), midnight(day + timedelta(days=1), tz)


def bucket_slot(bucket: str, t: int, tz: tzinfo) -> tuple[int, int]:
    """Start and length of the `bucket` ("10min", "hour" or "day") holding `t`, locally."""
    if bucket == "10min":
        return ten_minute_start(t, tz), TEN_MINUTES
    if bucket == "hour":
        start = hour_start(t, tz)
        return start, hour_seconds(start, tz)
    begin, end = day_bounds(local_date(t, tz), tz)
    return begin, end - begin


def iso_local(t: float, tz: tzinfo) -> str:
    """RFC 3339 local time with offset, to the second (the files' `generated`/`updated`)."""
    return datetime.fromtimestamp(math.floor(t), tz).isoformat(timespec="seconds")
