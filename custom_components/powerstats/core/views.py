"""The views: manifest.json and <meter>/{daily,weekly,monthly,yearly}.json as exact bytes.

Pure: no Home Assistant import and no clock reads. Renders the data contract (format
powerstats/1, schemas/powerstats-1.schema.json) from a meter's `History`. A view is a function
of the closed buckets and `as_of` (a 10-minute boundary), so rendering twice at the same
boundary gives the same bytes and an unchanged file is never rewritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Any, Final, Literal

from .accounting import Bucket
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


def _opt(value: float | None, digits: int) -> float | int | None:
    return None if value is None else _num(value, digits)


def _coverage(covered: float, seconds: int) -> float | int:
    # A few covered seconds in a day round to 0.000, which readers take for "no data" (null
    # measurements); a bucket with measurements says at least 0.001.
    fraction = min(1.0, covered / seconds) if seconds > 0 else 0.0
    return max(_num(fraction, 3), 0.001)


def bucket_row(
    start: int, seconds: int, bucket: Bucket | None, *, priced: bool, backfill: bool
) -> list[Any]:
    """One row: every column present; null measurements when nothing was covered."""
    if bucket is None or bucket.covered <= 0:
        row: list[Any] = [start, None, None, None, None, 0]
        if priced:
            row.append(None)
        if backfill:
            row.append(None)
        return row
    row = [
        start,
        _num(bucket.kwh, 4),
        _opt(bucket.mean_w, 1),
        _opt(bucket.min_w, 1),
        _opt(bucket.max_w, 1),
        _coverage(bucket.covered, seconds),
    ]
    if priced:
        row.append(_opt(bucket.cost, 4))
    if backfill:
        row.append(_num(min(1.0, bucket.backfill / bucket.covered), 3))
    return row


def columns(*, priced: bool, backfill: bool) -> list[str]:
    """The column names of a level file."""
    return [*BASE_COLUMNS, *(["cost"] if priced else []), *(["backfill"] if backfill else [])]


# -- windows --------------------------------------------------------------------------------


def _days(first: date, last: date, tz: tzinfo) -> Iterator[tuple[int, int]]:
    day = first
    while day <= last:
        start, end = day_bounds(day, tz)
        yield start, end - start
        day += timedelta(days=1)


def window(level: Level, history: History, as_of: float) -> list[tuple[int, int, Bucket | None]]:
    """Every bucket of a level's window ending at `as_of`: (start, seconds, bucket or None)."""
    tz = history.tz
    if level == "daily":
        # Today from local midnight, as the sensor "Energy today" counts it, and all of
        # yesterday to compare it with: at most 49 hours, all within 10-minute retention.
        begin = day_bounds(local_date(as_of, tz) - timedelta(days=1), tz)[0]
        last = ten_minute_start(as_of, tz)
        return [
            (s, TEN_MINUTES, history.ten_minutes.get(s))
            for s in range(begin, last + TEN_MINUTES, TEN_MINUTES)
        ]
    count = WINDOW[level]
    if level == "weekly":
        last = hour_start(as_of, tz)
        starts = [last - i * HOUR for i in range(count - 1, -1, -1)]
        return [(s, HOUR, history.hours.get(s)) for s in starts]
    today = local_date(as_of, tz)
    first = today - timedelta(days=count - 1)
    return [(s, n, history.days.get(s)) for s, n in _days(first, today, tz)]


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


def render_level(meter: MeterInfo, level: Level, history: History, as_of: float) -> bytes:
    """The bytes of `<meter>/<level>.json` with data up to `as_of`."""
    slots = window(level, history, as_of)
    has_backfill = any(b is not None and b.backfill > 0 for _, _, b in slots)
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
        "generated": iso_local(as_of, history.tz),
        "columns": columns(priced=meter.priced, backfill=has_backfill),
    }
    if meter.priced and meter.currency:
        head["currency"] = meter.currency
    rows = [
        _dump(bucket_row(s, n, b, priced=meter.priced, backfill=has_backfill)) for s, n, b in slots
    ]
    # One row per line keeps diffs of published files small and readable.
    text = _dump(head)[:-1] + ',"rows":[\n' + ",\n".join(rows) + "\n]}\n"
    return text.encode()


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
