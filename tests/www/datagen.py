"""Test data room: writes manifest.json and level files valid against powerstats/1.

The browser tests and the dashboard benchmark serve what this writes. The numbers follow a
plausible household day (standby, evening peak, a kettle now and then) and are a pure function of
the bucket's start, so two runs with the same arguments write the same bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from custom_components.powerstats.core.timegrid import hour_start, hours_ending

LEVELS = ("daily", "weekly", "monthly", "yearly")
BUCKET_OF_LEVEL = {"daily": "10min", "weekly": "hour", "monthly": "day", "yearly": "day"}
# Rows of the fixed windows; daily runs from yesterday's local midnight to the open bucket.
ROWS_OF_LEVEL = {"weekly": 168, "monthly": 30, "yearly": 365}

type Row = list[float | int | None]


@dataclass(frozen=True)
class MeterSpec:
    """One meter to generate; `gaps` maps a level to row indices with no coverage at all,
    `backfilled` to row indices rebuilt from the recorder (a `backfill` column of 1),
    `unpriced` to row indices with data but no known price (a null cost)."""

    id: str = "house"
    name: str = "House"
    timezone: str = "Europe/Amsterdam"
    currency: str | None = "EUR"
    price_per_kwh: float | None = 0.25
    scale: float = 1.0
    levels: tuple[str, ...] = LEVELS
    gaps: dict[str, Collection[int]] = field(default_factory=dict)
    backfilled: dict[str, Collection[int]] = field(default_factory=dict)
    unpriced: dict[str, Collection[int]] = field(default_factory=dict)

    @property
    def priced_in(self) -> str | None:
        """The currency the files name: as the integration writes them, only when priced."""
        return self.currency if self.currency and self.price_per_kwh else None


@dataclass(frozen=True)
class Dataset:
    """What was written: every document by its relative path, and the exact bytes' digests."""

    root: Path
    documents: dict[str, dict[str, Any]]

    def rows(self, meter_id: str, level: str) -> list[list[Any]]:
        rows: list[list[Any]] = self.documents[f"{meter_id}/{level}.json"]["rows"]
        return rows

    def columns(self, meter_id: str, level: str) -> list[str]:
        columns: list[str] = self.documents[f"{meter_id}/{level}.json"]["columns"]
        return columns

    def rewrite(self, path: str) -> None:
        """Write a changed document again, with its new size and hash in the manifest."""
        data = _encode(self.documents[path])
        _write_atomic(self.root / path, data)
        manifest = self.documents["manifest.json"]
        for meter in manifest["meters"]:
            for entry in meter["files"].values():
                if entry["path"] == path:
                    entry.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
        _write_atomic(self.root / "manifest.json", _encode(manifest))


def _power(t: float, scale: float) -> float:
    """Mean household power (W) around time t: standby, a daily cycle, an evening peak."""
    hour = (t % 86400) / 3600
    day = t // 86400
    evening = 900 * math.exp(-(((hour - 18.5) / 1.8) ** 2))
    morning = 400 * math.exp(-(((hour - 7.5) / 1.0) ** 2))
    seasonal = 120 * math.cos(2 * math.pi * (day % 365) / 365)
    wobble = 60 * math.sin(t / 1700) + 40 * math.sin(t / 23000 + day)
    return scale * max(80.0, 180 + evening + morning + seasonal + wobble)


def _bucket_bounds(level: str, now: int, tz: ZoneInfo) -> list[tuple[int, int]]:
    """(start, end) of every bucket of a level's window, the open one (holding `now`) last."""
    if level == "daily":
        yesterday = datetime.fromtimestamp(now, tz).date() - timedelta(days=1)
        first = _local_midnight(yesterday, tz)
        return [(start, start + 600) for start in range(first, now // 600 * 600 + 600, 600)]
    count = ROWS_OF_LEVEL[level]
    if level == "weekly":
        # The integration's own local hours: across a change of half an hour (Lord Howe
        # Island) they are not a fixed stride of 3,600 s.
        hours, seconds = hours_ending(hour_start(now, tz), count, tz)
        return [(start, start + length) for start, length in zip(hours, seconds, strict=True)]
    today = datetime.fromtimestamp(now, tz).date()
    days = [today - timedelta(days=count - 1 - i) for i in range(count + 1)]
    starts = [_local_midnight(d, tz) for d in days]
    return list(itertools.pairwise(starts))


def _local_midnight(day: date, tz: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def _row(start: int, end: int, now: int, spec: MeterSpec, gap: bool) -> Row:
    covered_until = min(end, now)
    if gap or covered_until <= start:
        return [start, None, None, None, None, 0.0] + ([None] if spec.price_per_kwh else [])
    covered = covered_until - start
    samples = [_power(start + covered * (k + 0.5) / 8, spec.scale) for k in range(8)]
    mean_w = sum(samples) / len(samples)
    kwh = round(mean_w * covered / 3.6e6, 4)
    row: Row = [
        start,
        kwh,
        round(mean_w, 1),
        round(min(samples) * 0.6, 1),
        round(max(samples) * 1.8 + (1800 if start // 600 % 37 == 0 else 0), 1),
        round(covered / (end - start), 3),
    ]
    if spec.price_per_kwh:
        row.append(round(kwh * spec.price_per_kwh, 4))
    return row


def _iso(unix: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(unix, tz).isoformat(timespec="seconds")


def level_document(spec: MeterSpec, level: str, now: int, generated: int) -> dict[str, Any]:
    tz = ZoneInfo(spec.timezone)
    gaps = spec.gaps.get(level, range(0))
    rows = [
        _row(start, end, now, spec, i in gaps)
        for i, (start, end) in enumerate(_bucket_bounds(level, now, tz))
    ]
    columns = ["start", "kwh", "mean_w", "min_w", "max_w", "coverage"]
    if spec.price_per_kwh:
        columns.append("cost")
    for i in spec.unpriced.get(level, ()) if spec.price_per_kwh else ():
        rows[i][-1] = None
    backfilled = spec.backfilled.get(level)
    if backfilled is not None:
        columns.append("backfill")
        for i, row in enumerate(rows):
            row.append(None if row[1] is None else float(i in backfilled))
    document: dict[str, Any] = {
        "format": "powerstats/1",
        "level": level,
        "meter": {"id": spec.id, "name": spec.name, "entity_id": f"sensor.{spec.id}_power"},
        "timezone": spec.timezone,
        "bucket": BUCKET_OF_LEVEL[level],
        "generated": _iso(generated, tz),
        "columns": columns,
        "rows": rows,
    }
    if spec.priced_in is not None:
        document["currency"] = spec.priced_in
    return document


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def write_dataset(
    root: Path,
    meters: list[MeterSpec],
    now: int,
    *,
    generated: int | None = None,
    maintenance: bool = False,
    data_format: str = "powerstats/1",
    refresh_seconds: int | None = 600,
    tampered: frozenset[str] = frozenset(),
) -> Dataset:
    """Write a data root under `root`; a path in `tampered` is altered after its hash was taken."""
    generated = now if generated is None else generated
    documents: dict[str, dict[str, Any]] = {}
    manifest_meters = []
    for spec in meters:
        files = {}
        for level in spec.levels:
            path = f"{spec.id}/{level}.json"
            document = level_document(spec, level, now, generated)
            data = _encode(document)
            files[level] = {
                "path": path,
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "updated": _iso(generated, ZoneInfo(spec.timezone)),
            }
            if path in tampered:
                data = data.replace(b'"rows":[[', b'"rows":[ [', 1)
            _write_atomic(root / path, data)
            documents[path] = document
        entry: dict[str, Any] = {
            "id": spec.id,
            "name": spec.name,
            "entity_id": f"sensor.{spec.id}_power",
            "timezone": spec.timezone,
            "kind": "power",
            "files": files,
        }
        if spec.priced_in is not None:
            entry["currency"] = spec.priced_in
        manifest_meters.append(entry)
    manifest: dict[str, Any] = {
        "format": data_format,
        "generated": _iso(generated, ZoneInfo(meters[0].timezone if meters else "UTC")),
        "maintenance": maintenance,
        "meters": manifest_meters,
    }
    if refresh_seconds is not None:
        manifest["refresh_seconds"] = refresh_seconds
    _write_atomic(root / "manifest.json", _encode(manifest))
    documents["manifest.json"] = manifest
    return Dataset(root=root, documents=documents)


def fixed_now() -> int:
    """The tests' 'now': a Wednesday afternoon, mid-bucket, a month after a DST change."""
    return int(datetime(2026, 11, 25, 14, 23, 20, tzinfo=UTC).timestamp())
