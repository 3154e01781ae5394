"""The views: manifest.json and <meter>/{daily,weekly,monthly,yearly}.json as exact bytes.

Pure: no Home Assistant import and no clock reads. Renders the data contract (format
powerstats/1, schemas/powerstats-1.schema.json) from a meter's `History`. A view is a function
of the closed buckets and `as_of` (a 10-minute boundary), so rendering twice at the same
boundary gives the same bytes and an unchanged file is never rewritten.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Final, Literal

from .accounting import Bucket, mean_power
from .bucket_table import WIDTH, bucket_numbers, new_stamp
from .rollup import History, combine_span
from .timegrid import (
    TEN_MINUTES,
    day_bounds,
    hour_start,
    hours_between,
    hours_ending,
    iso_local,
    local_date,
    ten_minute_start,
)

FORMAT: Final = "powerstats/1"
# The index every reader starts from, at the root of the dataset (the one place it is named).
MANIFEST: Final = "manifest.json"
type Level = Literal["daily", "weekly", "monthly", "yearly"]
LEVELS: Final[tuple[Level, ...]] = ("daily", "weekly", "monthly", "yearly")
BUCKET_OF_LEVEL: Final[dict[Level, str]] = {
    "daily": "10min",
    "weekly": "hour",
    "monthly": "day",
    "yearly": "day",
}
# Rows per level: 7 days of hours; 30 / 365 days. Daily holds 10-minute buckets from yesterday's
# local midnight through the open one (139 to 294 rows, 145 to 288 when the clocks do not change;
# see `window`).
WINDOW: Final[dict[Level, int]] = {"weekly": 168, "monthly": 30, "yearly": 365}
BASE_COLUMNS: Final = ("start", "kwh", "mean_w", "min_w", "max_w", "coverage")
# The longest meter name the files may carry (the data contract's limit: readers such as the
# board refuse a manifest with a longer one).
MAX_NAME_LENGTH: Final = 100


@dataclass(frozen=True, slots=True)
class MeterInfo:
    """Who a meter is, as the files name it."""

    id: str
    name: str
    entity_id: str
    kind: str
    timezone: str
    currency: str | None
    priced: bool


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One level file as the manifest lists it."""

    level: Level
    path: str
    sha256: str
    bytes: int
    updated: str


@dataclass(frozen=True, slots=True)
class ManifestMeter:
    """One meter as the manifest lists it."""

    info: MeterInfo
    files: tuple[FileEntry, ...]


# How far into the hour each coarse level takes in the hour that closed: one coarse file of a
# meter per boundary, so no boundary rewrites all four of every meter's files.
REFRESH_DELAY: Final[dict[Level, int]] = {
    "daily": 0,
    "weekly": 0,
    "monthly": TEN_MINUTES,
    "yearly": 2 * TEN_MINUTES,
}


def refresh_period(level: Level, as_of: int, tz: tzinfo) -> int:
    """The `as_of` a level is rendered with at the boundary `as_of`.

    Daily changes at every boundary (today's energy as the sensor counts it); the coarser
    levels hold what closed by the start of an hour, so they change once an hour (weekly at
    its first boundary, monthly at the second, yearly at the third): rewriting a year of days
    at every boundary for the open day's row would wear an SD card out.
    """
    if level == "daily":
        return as_of
    return hour_start(as_of - REFRESH_DELAY[level], tz)


def level_path(meter_id: str, level: Level) -> str:
    """Relative path of a level file (the same in every host)."""
    return f"{meter_id}/{level}.json"


def sha256_hex(data: bytes) -> str:
    """The manifest's hash of a file's exact bytes."""
    return hashlib.sha256(data).hexdigest()


# -- numbers --------------------------------------------------------------------------------


def _num(value: float, digits: int) -> float | int:
    """Round for size; integral values are written without a fraction, -0 as 0."""
    rounded = round(value, digits) + 0.0
    return int(rounded) if rounded.is_integer() else rounded


def _opt(value: float, digits: int) -> float | int | None:
    # NaN stands for a missing value (see `bucket_numbers`).
    return None if value != value else _num(value, digits)


def coverage_cell(covered: float, seconds: int) -> float | int:
    """A bucket's `coverage` as the files write it."""
    # A few covered seconds in a day round to 0.000, which readers take for "no data" (null
    # measurements); a bucket with measurements says at least 0.001.
    fraction = min(1.0, covered / seconds) if seconds > 0 else 0.0
    return max(_num(fraction, 3), 0.001)


def bucket_row(
    start: int, seconds: int, bucket: Bucket | None, *, priced: bool, backfill: bool
) -> list[Any]:
    """One row: every column present; null measurements when nothing was covered."""
    numbers = None if bucket is None else bucket_numbers(bucket)
    return numbers_row(start, seconds, numbers, priced=priced, backfill=backfill)


def numbers_row(
    start: int, seconds: int, numbers: Sequence[float] | None, *, priced: bool, backfill: bool
) -> list[Any]:
    """`bucket_row` of a bucket given by its numbers (`bucket_numbers`; None: no bucket)."""
    _, kwh, covered, min_w, max_w, cost, backfilled = numbers or _NO_NUMBERS
    if covered <= 0:
        row: list[Any] = [start, None, None, None, None, 0]
        if priced:
            row.append(None)
        if backfill:
            row.append(None)
        return row
    row = [
        start,
        _num(kwh, 4),
        _num(mean_power(kwh, covered), 1),
        _opt(min_w, 1),
        _opt(max_w, 1),
        coverage_cell(covered, seconds),
    ]
    if priced:
        row.append(_opt(cost, 4))
    if backfill:
        row.append(_num(min(1.0, backfilled / covered), 3))
    return row


_NO_NUMBERS: Final = (0.0,) * WIDTH


def columns(*, priced: bool, backfill: bool) -> list[str]:
    """The column names of a level file."""
    return [*BASE_COLUMNS, *(["cost"] if priced else []), *(["backfill"] if backfill else [])]


# -- windows --------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _days(first: date, last: date, tz: tzinfo) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The starts and lengths in seconds of the local days `first` through `last`."""
    # Day boundaries need the time zone's rules for each day, which is slow; every meter of a
    # dataset shares the same window of days, so they are computed once per day, not per render.
    starts: list[int] = []
    seconds: list[int] = []
    day = first
    while day <= last:
        start, end = day_bounds(day, tz)
        starts.append(start)
        seconds.append(end - start)
        day += timedelta(days=1)
    return tuple(starts), tuple(seconds)


class _Window:
    """A level's window ending at `as_of`, by column: starts, lengths and the stamps of the
    buckets in it (0: no bucket; see `BucketTable`), whose contents are read only when asked.

    Each row holds what had closed by `as_of`, so a level rendered later with the same
    `as_of` (a coarse level within its hour, see `refresh_period`) gives the same bytes: the
    open hour is empty and the open day holds its hours closed by then.
    """

    __slots__ = (
        "_block",
        "_first",
        "_open",
        "_positions",
        "_run",
        "_stored",
        "_table",
        "seconds",
        "stamps",
        "starts",
    )

    def __init__(self, level: Level, history: History, as_of: float) -> None:
        tz = history.tz
        self.seconds: Sequence[int]
        self.starts: Sequence[int]
        # The newest row when it is not the stored bucket: (True, what it holds instead).
        self._open: tuple[bool, Bucket | None] = (False, None)
        if level == "daily":
            # Today from local midnight, as the sensor "Energy today" counts it, and all of
            # yesterday to compare it with: at most 49 hours, all within 10-minute retention.
            # The open bucket is not in the history: the newest row is empty.
            begin = day_bounds(local_date(as_of, tz) - timedelta(days=1), tz)[0]
            self.starts = range(begin, ten_minute_start(as_of, tz) + TEN_MINUTES, TEN_MINUTES)
            self.seconds = (TEN_MINUTES,) * len(self.starts)
            self._table = history.ten_minutes
        elif level == "weekly":
            self.starts, self.seconds = hours_ending(hour_start(as_of, tz), WINDOW[level], tz)
            self._table = history.hours
            self._open = (True, None)  # the open hour
        else:
            today = local_date(as_of, tz)
            self.starts, self.seconds = _days(today - timedelta(days=WINDOW[level] - 1), today, tz)
            self._table = history.days
            self._open = _day_so_far(history, self.starts[-1], self.seconds[-1], as_of)
        self._first, stored, stamps = self._table.span(self.starts[0], self.starts[-1] + 1)
        self._stored = len(stored)
        rows = len(self.starts)
        # Each row's position among the stored buckets of the span, or -1.
        self._positions: list[int]
        # With the rows' buckets stored one after the other (the usual case), how many of the
        # first stored ones are rows: they are read as one run.
        self._run: int | None = None
        if stored == list(self.starts[: len(stored)]):
            self._positions = [*range(len(stored)), *(-1,) * (rows - len(stored))]
            self.stamps = [*stamps, *(0,) * (rows - len(stored))]
            self._run = len(stored)
        else:
            where = dict(zip(stored, range(len(stored)), strict=True))
            self._positions = [where.get(s, -1) for s in self.starts]
            self.stamps = [stamps[k] if k >= 0 else 0 for k in self._positions]
        replaced, bucket = self._open
        if replaced:
            if self._run is not None and self._positions[-1] >= 0:
                self._run -= 1
            self._positions[-1] = -1
            self.stamps[-1] = 0 if bucket is None else new_stamp()
        self._block: list[float] | None = None

    @property
    def has_backfill(self) -> bool:
        """Whether any row holds time filled from elsewhere (the `backfill` column is shown)."""
        _, bucket = self._open
        if bucket is not None and bucket.backfill > 0:
            return True
        if self._run is not None:
            return (
                max(
                    self._table.column("backfill", self._first, self._first + self._run),
                    default=0.0,
                )
                > 0
            )
        stored = self._table.column("backfill", self._first, self._first + self._stored)
        return any(stored[k] > 0 for k in self._positions if k >= 0)

    def numbers(self, j: int) -> Sequence[float] | None:
        """The numbers of row j's bucket (see `bucket_numbers`), None when it has none."""
        k = self._positions[j]
        if k < 0:
            replaced, bucket = self._open
            if replaced and j == len(self._positions) - 1 and bucket is not None:
                return bucket_numbers(bucket)
            return None
        if self._block is None:
            # Read at once, on the loop (the table may change while the render runs in another
            # thread), as plain numbers: a first render has hundreds of rows to dump.
            self._block = self._table.numbers(self._first, self._first + self._stored)
        return self._block[k * WIDTH : (k + 1) * WIDTH]

    def bucket(self, j: int) -> Bucket | None:
        """Row j's bucket, or None."""
        k = self._positions[j]
        if k < 0:
            replaced, bucket = self._open
            return bucket if replaced and j == len(self._positions) - 1 else None
        return self._table.bucket_at(self._first + k)


def _day_so_far(
    history: History, start: int, seconds: int, as_of: float
) -> tuple[bool, Bucket | None]:
    """The open day as of `as_of`: the rollup of its hours closed by then.

    Returns (False, None) when the stored day is taken as it is: a day stored without any of
    its hours (taken as given from elsewhere). No stored day gives an empty row.
    """
    if start not in history.days:
        return True, None
    hours = history.hours
    first, end = hours.bisect(start), hours.bisect(start + seconds)
    if first == end:
        return False, None
    # The hours before the one holding `as_of` (hours tile time, some last 30 minutes).
    closed = min(end, hours.bisect(hour_start(as_of, history.tz)))
    return True, combine_span(hours, first, closed, start, seconds)


def window(level: Level, history: History, as_of: float) -> list[tuple[int, int, Bucket | None]]:
    """Every bucket of a level's window ending at `as_of`: (start, seconds, bucket or None)."""
    win = _Window(level, history, as_of)
    return [(s, win.seconds[j], win.bucket(j)) for j, s in enumerate(win.starts)]


_BACKFILL: Final = operator.attrgetter("backfill")


def _has_backfill(buckets: Iterable[Bucket | None]) -> bool:
    """Whether any bucket holds time filled from elsewhere (the `backfill` column is shown)."""
    return any(map(_BACKFILL, filter(None, buckets)))


def rows_between(
    bucket: Literal["10min", "hour", "day"],
    history: History,
    first: date,
    last: date,
    *,
    priced: bool,
) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of every bucket from local day `first` through `last` (for export)."""
    tz = history.tz
    begin, end = day_bounds(first, tz)[0], day_bounds(last, tz)[1]
    slots: list[tuple[int, int, Bucket | None]]
    if bucket == "day":
        starts, seconds = _days(first, last, tz)
        slots = [(s, n, history.days.get(s)) for s, n in zip(starts, seconds, strict=True)]
    elif bucket == "hour":
        starts, seconds = hours_between(begin, end, tz)
        slots = [(s, n, history.hours.get(s)) for s, n in zip(starts, seconds, strict=True)]
    else:
        level = history.ten_minutes
        slots = [(s, TEN_MINUTES, level.get(s)) for s in range(begin, end, TEN_MINUTES)]
    has_backfill = any(b is not None and b.backfill > 0 for _, _, b in slots)
    rows = [bucket_row(s, n, b, priced=priced, backfill=has_backfill) for s, n, b in slots]
    return columns(priced=priced, backfill=has_backfill), rows


# -- files ----------------------------------------------------------------------------------


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _dump_row(row: list[Any]) -> bytes:
    """`_dump(row).encode()` for a row of numbers and nulls, several times faster."""
    parts = []
    for value in row:
        if value is None:
            parts.append("null")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        else:
            # What json writes for an int or a float (its repr).
            parts.append(repr(value))
    return ("[" + ",".join(parts) + "]").encode()


def render_level(meter: MeterInfo, level: Level, history: History, as_of: float) -> bytes:
    """The bytes of `<meter>/<level>.json` with data up to `as_of`."""
    slots = window(level, history, as_of)
    has_backfill = _has_backfill(b for _, _, b in slots)
    rows = [
        _dump(bucket_row(s, n, b, priced=meter.priced, backfill=has_backfill)) for s, n, b in slots
    ]
    return _level_text(meter, level, history.tz, as_of, has_backfill, rows)


def _level_head(
    meter: MeterInfo, level: Level, tz: tzinfo, as_of: float, has_backfill: bool
) -> bytes:
    head = {
        "format": FORMAT,
        "level": level,
        "meter": {
            "id": meter.id,
            "name": meter.name,
            "entity_id": meter.entity_id,
            "kind": meter.kind,
        },
        "timezone": meter.timezone,
        "bucket": BUCKET_OF_LEVEL[level],
        "generated": iso_local(as_of, tz),
        "columns": columns(priced=meter.priced, backfill=has_backfill),
    }
    if meter.priced and meter.currency:
        head["currency"] = meter.currency
    # One row per line keeps diffs of published files small and readable.
    return (_dump(head)[:-1] + ',"rows":[\n').encode()


_ROW_SEPARATOR: Final = b",\n"
_TAIL: Final = b"\n]}\n"


def _level_text(
    meter: MeterInfo, level: Level, tz: tzinfo, as_of: float, has_backfill: bool, rows: list[str]
) -> bytes:
    head = _level_head(meter, level, tz, as_of, has_backfill)
    return head + _ROW_SEPARATOR.join(row.encode() for row in rows) + _TAIL


# What a level file is rendered from: the meter, its history and that history's version, and
# the time its data runs up to.
type _FileKey = tuple[MeterInfo, History, int, float]


class _LevelRows:
    """Where each row of a level's last file sits in its bytes, and the bucket it came from.

    The file itself holds every row's text, so nothing but offsets and the stamps of the rows'
    buckets (see `BucketTable`; 0 for an empty row) is kept beside it. Offsets are stored less
    `base`, so a run of rows taken over by the next file keeps its stored offsets as they are
    (one slice) while the file around it moves.
    """

    __slots__ = ("base", "data", "flags", "key", "offsets", "stamps", "starts")

    def __init__(
        self,
        key: _FileKey,
        data: bytes,
        flags: tuple[bool, bool],
        starts: array[int],
        stamps: array[int],
        offsets: array[int],
        base: int,
    ) -> None:
        self.key = key  # what the file was rendered from (see `MeterViews.plan`)
        self.data = data
        self.flags = flags  # (priced, has_backfill): the columns every row was written with
        self.starts = starts
        self.stamps = stamps
        # Row i is data[offsets[2 * i] + base:offsets[2 * i + 1] + base].
        self.offsets = offsets
        self.base = base

    def row(self, i: int) -> bytes:
        """The text of row i."""
        return self.data[self.offsets[2 * i] + self.base : self.offsets[2 * i + 1] + self.base]


# A row still to place: (start, seconds, its bucket's numbers when it is to be dumped, its
# index in the last file or -1 to dump it, its bucket's stamp).
type _Row = tuple[int, int, Sequence[float] | None, int, int]


class MeterViews:
    """The level files of one meter, rendered again only where its history changed.

    Gives exactly the bytes of `render_level`. A closed bucket renders to the same row every
    time, so the rows of the last file are reused (checked against the stamp of the bucket they
    came from) and only new or changed buckets are dumped again; a level whose meter, history
    and `as_of` are all unchanged is not rendered at all. A boundary changes a window at its
    ends, so the rows it keeps from the last file are one run, taken over as one slice.
    """

    __slots__ = ("_rows", "renders")

    def __init__(self) -> None:
        self._rows: dict[Level, _LevelRows] = {}
        # How many times a level file was actually rendered (not taken as it was).
        self.renders = 0

    def render(self, meter: MeterInfo, level: Level, history: History, as_of: float) -> bytes:
        """The bytes of `<meter>/<level>.json` with data up to `as_of`."""
        planned = self.plan(meter, level, history, as_of)
        return planned if isinstance(planned, bytes) else planned.run()

    def plan(
        self, meter: MeterInfo, level: Level, history: History, as_of: float
    ) -> bytes | LevelRender:
        """The file's bytes if nothing changed, else the render still to do (see `LevelRender`).

        Reads the history, so it runs where the history changes (the event loop).
        """
        key = (meter, history, history.version, as_of)
        previous = self._rows.get(level)
        if previous is not None and previous.key == key:
            return previous.data
        win = _Window(level, history, as_of)
        starts, seconds, stamps = win.starts, win.seconds, win.stamps
        flags = (meter.priced, win.has_backfill)
        if previous is not None and previous.flags == flags:
            flags = previous.flags  # the same object, kept from boundary to boundary
        if previous is None or previous.flags != flags or not starts:
            rows: list[_Row] = [
                (s, seconds[j], win.numbers(j), -1, stamps[j]) for j, s in enumerate(starts)
            ]
            return LevelRender(self, key, level, history.tz, flags, (0, 0), rows, previous)
        # The run kept: the new window's first rows, as the same buckets at the same starts.
        old_starts, old_stamps = previous.starts, previous.stamps
        first = bisect_left(old_starts, starts[0])
        overlap = min(len(starts), len(old_starts) - first)
        kept = 0
        if overlap > 0 and old_starts[first] == starts[0]:
            kept = _same_for(old_stamps[first : first + overlap], array("Q", stamps[:overlap]))
            if old_starts[first : first + kept] != array("q", starts[:kept]):
                kept = 0  # not one run after all (a grid that moved): place row by row
        index = {s: i for i, s in enumerate(old_starts[first + kept :], first + kept)}
        rows = []
        for j in range(kept, len(starts)):
            s, stamp = starts[j], stamps[j]
            i = index.get(s, -1)
            if i >= 0 and old_stamps[i] == stamp:
                rows.append((s, seconds[j], None, i, stamp))
            else:
                rows.append((s, seconds[j], win.numbers(j), -1, stamp))
        block = (first, kept) if kept else (0, 0)
        return LevelRender(self, key, level, history.tz, flags, block, rows, previous)


def _same_for(old: array[int], new: array[int]) -> int:
    """How many of the first items two arrays of the same length have in common.

    Found by halving with whole-slice comparisons, which run in C: a boundary changes a window
    only near its ends, so walking a year of rows one by one in Python was mostly wasted.
    """
    if old == new:
        return len(old)
    same, differs = 0, len(old)  # old[:same] == new[:same]; old[:differs] != new[:differs]
    while differs - same > 1:
        middle = (same + differs) // 2
        if old[same:middle] == new[same:middle]:
            same = middle
        else:
            differs = middle
    return same


class LevelRender:
    """One level file to render from buckets already looked up: safe to run in another thread.

    `block` is (first, count): rows first .. first + count - 1 of the last file open the new
    one as they are; `rows` follow them. `misses` counts the rows that must be dumped.
    """

    __slots__ = (
        "_block",
        "_flags",
        "_key",
        "_level",
        "_previous",
        "_rows",
        "_tz",
        "_views",
        "misses",
    )

    def __init__(
        self,
        views: MeterViews,
        key: _FileKey,
        level: Level,
        tz: tzinfo,
        flags: tuple[bool, bool],
        block: tuple[int, int],
        rows: list[_Row],
        previous: _LevelRows | None,
    ) -> None:
        self._views = views
        self._key = key
        self._level = level
        self._tz = tz
        self._flags = flags
        self._block = block
        self._rows = rows
        self.misses = sum(1 for r in rows if r[3] < 0)
        self._previous = previous

    def run(self) -> bytes:
        """Render the file and note where its rows are, for the next render."""
        meter, _, _, as_of = self._key
        priced, has_backfill = self._flags
        head = _level_head(meter, self._level, self._tz, as_of, has_backfill)
        previous = self._previous
        parts: list[bytes] = [head]
        first, count = self._block
        at = len(head)
        if count and previous is not None:
            # The kept run, separators and all, as one slice; its offsets move by `base`.
            old = previous.offsets
            begin = old[2 * first] + previous.base
            end = old[2 * (first + count) - 1] + previous.base
            parts.append(previous.data[begin:end])
            base = at - old[2 * first]
            offsets = old[2 * first : 2 * (first + count)]
            starts = previous.starts[first : first + count]
            stamps = previous.stamps[first : first + count]
            at += end - begin
        else:
            base = 0
            offsets = array("q")
            starts = array("q")
            stamps = array("Q")
        for s, n, numbers, i, stamp in self._rows:
            if starts:
                parts.append(_ROW_SEPARATOR)
                at += len(_ROW_SEPARATOR)
            if i >= 0 and previous is not None:
                row = previous.row(i)
            else:
                row = _dump_row(numbers_row(s, n, numbers, priced=priced, backfill=has_backfill))
            parts.append(row)
            offsets.append(at - base)
            at += len(row)
            offsets.append(at - base)
            starts.append(s)
            stamps.append(stamp)
        parts.append(_TAIL)
        data = b"".join(parts)
        views = self._views
        views.renders += 1
        views._rows[self._level] = _LevelRows(
            self._key, data, self._flags, starts, stamps, offsets, base
        )
        return data


def render_manifest(
    meters: Sequence[ManifestMeter],
    generated: str,
    *,
    refresh_seconds: int,
    maintenance: bool = False,
) -> bytes:
    """The bytes of manifest.json listing every meter and its published files."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "generated": generated,
        "maintenance": maintenance,
        "refresh_seconds": refresh_seconds,
        "meters": [
            {
                "id": m.info.id,
                "name": m.info.name,
                "entity_id": m.info.entity_id,
                "kind": m.info.kind,
                "timezone": m.info.timezone,
                **({"currency": m.info.currency} if m.info.currency else {}),
                "files": {
                    f.level: {
                        "path": f.path,
                        "sha256": f.sha256,
                        "bytes": f.bytes,
                        "updated": f.updated,
                    }
                    for f in m.files
                },
            }
            for m in meters
        ],
    }
    return (json.dumps(body, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode()
