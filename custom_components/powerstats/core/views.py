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
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Final, Literal

from .accounting import WS_PER_KWH, Bucket
from .bucket_table import WIDTH, BucketTable, bucket_numbers
from .rollup import History
from .timegrid import (
    HOUR,
    TEN_MINUTES,
    day_bounds,
    hour_start,
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
# local midnight through the open one (145 to 300 rows, see `window`).
WINDOW: Final[dict[Level, int]] = {"weekly": 168, "monthly": 30, "yearly": 365}
BASE_COLUMNS: Final = ("start", "kwh", "mean_w", "min_w", "max_w", "coverage")


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


def _coverage(covered: float, seconds: int) -> float | int:
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
        _num(kwh * WS_PER_KWH / covered, 1),  # the mean power over the covered time
        _opt(min_w, 1),
        _opt(max_w, 1),
        _coverage(covered, seconds),
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
def _days(first: date, last: date, tz: tzinfo) -> tuple[tuple[int, int], ...]:
    # Day boundaries need the time zone's rules for each day, which is slow; every meter of a
    # dataset shares the same window of days, so they are computed once per day, not per render.
    slots: list[tuple[int, int]] = []
    day = first
    while day <= last:
        start, end = day_bounds(day, tz)
        slots.append((start, end - start))
        day += timedelta(days=1)
    return tuple(slots)


def window_slots(
    level: Level, history: History, as_of: float
) -> tuple[BucketTable, Sequence[tuple[int, int]]]:
    """The level's window ending at `as_of`: the table it reads, (start, seconds) of each row."""
    tz = history.tz
    if level == "daily":
        # Today from local midnight, as the sensor "Energy today" counts it, and all of
        # yesterday to compare it with: at most 49 hours, all within 10-minute retention.
        begin = day_bounds(local_date(as_of, tz) - timedelta(days=1), tz)[0]
        last = ten_minute_start(as_of, tz)
        return history.ten_minutes, [
            (s, TEN_MINUTES) for s in range(begin, last + TEN_MINUTES, TEN_MINUTES)
        ]
    count = WINDOW[level]
    if level == "weekly":
        last = hour_start(as_of, tz)
        return history.hours, [(last - i * HOUR, HOUR) for i in range(count - 1, -1, -1)]
    today = local_date(as_of, tz)
    return history.days, _days(today - timedelta(days=count - 1), today, tz)


def window(level: Level, history: History, as_of: float) -> list[tuple[int, int, Bucket | None]]:
    """Every bucket of a level's window ending at `as_of`: (start, seconds, bucket or None)."""
    table, slots = window_slots(level, history, as_of)
    return [(s, n, table.get(s)) for s, n in slots]


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
        slots = [(s, n, history.days.get(s)) for s, n in _days(first, last, tz)]
    else:
        size, level = (
            (TEN_MINUTES, history.ten_minutes) if bucket == "10min" else (HOUR, history.hours)
        )
        slots = [(s, size, level.get(s)) for s in range(begin, end, size)]
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
    has_backfill = any(b is not None and b.backfill > 0 for _, _, b in slots)
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


class _LevelRows:
    """Where each row of a level's last file sits in its bytes, and the bucket it came from.

    The file itself holds every row's text, so nothing but offsets and the stamps of the
    buckets (see `BucketTable`; 0 for an empty row) is kept beside it.
    """

    __slots__ = ("data", "flags", "offsets", "stamps", "starts")

    def __init__(
        self,
        data: bytes,
        flags: tuple[bool, bool],
        starts: array[int],
        stamps: array[int],
        offsets: array[int],
    ) -> None:
        self.data = data
        self.flags = flags  # (priced, has_backfill): the columns every row was written with
        self.starts = starts
        self.stamps = stamps
        self.offsets = offsets  # row i is data[offsets[2 * i]:offsets[2 * i + 1]]


type _FileKey = tuple[MeterInfo, History, int, float]


class MeterViews:
    """The level files of one meter, rendered again only where its history changed.

    Gives exactly the bytes of `render_level`. A closed bucket renders to the same row every
    time, so the rows of the last file are reused (checked against the stamp of the bucket they
    came from) and only new or changed buckets are dumped again; a level whose meter, history
    and `as_of` are all unchanged is not rendered at all.
    """

    __slots__ = ("_files", "_rows", "renders")

    def __init__(self) -> None:
        self._rows: dict[Level, _LevelRows] = {}
        self._files: dict[Level, tuple[_FileKey, bytes]] = {}
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
        last = self._files.get(level)
        if last is not None and last[0] == key:
            return last[1]
        table, slots = window_slots(level, history, as_of)
        first, starts, stored = table.span(slots[0][0], slots[-1][0] + 1)
        has_backfill = any(b > 0 for b in table.column("backfill", first, first + len(starts)))
        flags = (meter.priced, has_backfill)
        position = dict(zip(starts, range(first, first + len(starts)), strict=True))
        previous = self._rows.get(level)
        if previous is not None and previous.flags == flags:
            index = dict(zip(previous.starts, range(len(previous.starts)), strict=True))
            old = previous.stamps
        else:
            index, old = {}, array("Q")
        rows: list[tuple[int, int, Sequence[float] | None, int]] = []
        stamps = array("Q")
        misses = 0
        numbers: list[float] | None = None
        for s, n in slots:
            p = position.get(s, -1)
            stamp = stored[p - first] if p >= 0 else 0
            stamps.append(stamp)
            i = index.get(s, -1)
            if i >= 0 and old[i] == stamp:
                rows.append((s, n, None, i))
                continue
            misses += 1
            if p < 0:
                rows.append((s, n, None, -1))
                continue
            # Read here, on the loop (the table may change while the render runs in another
            # thread), and as plain numbers: a first render has hundreds of rows to dump.
            if numbers is None:
                numbers = table.numbers(first, first + len(starts))
            at = (p - first) * WIDTH
            rows.append((s, n, numbers[at : at + WIDTH], -1))
        return LevelRender(self, key, level, history.tz, flags, rows, stamps, misses, previous)


class LevelRender:
    """One level file to render from buckets already looked up: safe to run in another thread.

    `misses` counts the rows that must be dumped (the others are cut from the last file).
    """

    __slots__ = (
        "_flags",
        "_key",
        "_level",
        "_previous",
        "_rows",
        "_stamps",
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
        rows: list[tuple[int, int, Sequence[float] | None, int]],
        stamps: array[int],
        misses: int,
        previous: _LevelRows | None,
    ) -> None:
        self._views = views
        self._key = key
        self._level = level
        self._tz = tz
        self._flags = flags
        self._rows = rows
        self._stamps = stamps
        self.misses = misses
        self._previous = previous

    def run(self) -> bytes:
        """Render the file and note where its rows are, for the next render."""
        meter, _, _, as_of = self._key
        priced, has_backfill = self._flags
        head = _level_head(meter, self._level, self._tz, as_of, has_backfill)
        previous = self._previous
        parts: list[bytes] = [head]
        offsets = array("I")  # 4 bytes each: a level file is far below 4 GiB
        at = len(head)
        for number, (s, n, b, i) in enumerate(self._rows):
            if number:
                parts.append(_ROW_SEPARATOR)
                at += len(_ROW_SEPARATOR)
            if i >= 0 and previous is not None:
                row = previous.data[previous.offsets[2 * i] : previous.offsets[2 * i + 1]]
            else:
                row = _dump_row(numbers_row(s, n, b, priced=priced, backfill=has_backfill))
            parts.append(row)
            offsets.append(at)
            at += len(row)
            offsets.append(at)
        parts.append(_TAIL)
        data = b"".join(parts)
        views = self._views
        views.renders += 1
        views._rows[self._level] = _LevelRows(
            data,
            self._flags,
            array("q", [r[0] for r in self._rows]),
            self._stamps,
            offsets,
        )
        views._files[self._level] = (self._key, data)
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
