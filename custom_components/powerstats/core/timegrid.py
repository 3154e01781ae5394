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
    """Start of the local clock hour holding `t`."""
    return grid_start(t, tz, HOUR)


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
        return hour_start(t, tz), HOUR
    begin, end = day_bounds(local_date(t, tz), tz)
    return begin, end - begin


def iso_local(t: float, tz: tzinfo) -> str:
    """RFC 3339 local time with offset, to the second (the files' `generated`/`updated`)."""
    return datetime.fromtimestamp(math.floor(t), tz).isoformat(timespec="seconds")
