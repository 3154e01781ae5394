"""Test data room for many meters: a data root written by the integration's own views.

Each meter holds what the store keeps for a year-old meter (a year of days, 9 days of hours, 49
hours of 10-minute buckets), in one of a few household load shapes; the level files and
manifest.json are the exact bytes the integration renders (`render_level`, `render_manifest`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from custom_components.powerstats.core.accounting import Bucket
from custom_components.powerstats.core.rollup import History
from custom_components.powerstats.core.timegrid import (
    HOUR,
    TEN_MINUTES,
    day_bounds,
    iso_local,
    local_date,
    ten_minute_start,
)
from custom_components.powerstats.core.views import (
    LEVELS,
    FileEntry,
    ManifestMeter,
    MeterInfo,
    level_path,
    render_level,
    render_manifest,
    sha256_hex,
)

ZONE = "Europe/Amsterdam"
TZ = ZoneInfo(ZONE)
REFRESH_SECONDS = 600
SHAPES = 7
ROOMS = (
    "Kitchen", "Living room", "Bedroom", "Bathroom", "Garage",
    "Office", "Hallway", "Attic", "Basement", "Garden",
)  # fmt: skip
LOADS = (
    "lights", "sockets", "oven", "fridge", "washer", "dryer", "dishwasher", "heater", "boiler",
    "pump", "fan", "tv", "router", "freezer", "kettle", "microwave", "desk", "heat pump",
    "ev charger", "sauna",
)  # fmt: skip


def many_meters(count: int) -> list[MeterInfo]:
    """`count` meters (at most 200) named "<room> <load>", e.g. "Garage ev charger"."""
    infos = []
    for index in range(count):
        room, load = ROOMS[index // len(LOADS)], LOADS[index % len(LOADS)]
        name = f"{room} {load}"
        slug = name.lower().replace(" ", "_")
        infos.append(MeterInfo(slug, name, f"sensor.{slug}_power", "power", ZONE, "EUR", True))
    return infos


def longest_manifest(count: int, generated: str) -> bytes:
    """A manifest of `count` meters whose ids, names and time zones are as long as the format
    allows (32, 100 characters, not all ASCII), every level published: its largest entries."""
    listed = []
    for index in range(count):
        meter_id = f"{index:03d}" + "x" * 29
        name = (f"{index:03d} " + "Wärmepumpe " * 9)[:100]
        entity = f"sensor.{meter_id}_power"
        zone = "America/Argentina/ComodRivadavia"
        info = MeterInfo(meter_id, name, entity, "energy", zone, "EUR", True)
        entries = tuple(
            FileEntry(level, level_path(meter_id, level), sha256_hex(b""), 123_456, generated)
            for level in LEVELS
        )
        listed.append(ManifestMeter(info, entries))
    return render_manifest(listed, generated, refresh_seconds=REFRESH_SECONDS)


def _bucket(start: int, seconds: int, scale: float) -> Bucket:
    hour = (start % 86400) / 3600
    watts = scale * (150 + 700 * math.exp(-(((hour - 18.5) / 2.0) ** 2)) + 40 * math.sin(start))
    kwh = watts * seconds / 3.6e6
    return Bucket(start, seconds, kwh, float(seconds), watts * 0.5, watts * 1.9, kwh * 0.27)


def year_of_history(as_of: int, scale: float) -> History:
    """What the store holds at `as_of` for a meter tracked live for a year."""
    history = History(TZ)
    today = local_date(as_of, TZ)
    days = []
    for back in range(366, 9, -1):
        start, end = day_bounds(today.fromordinal(today.toordinal() - back), TZ)
        days.append(_bucket(start, end - start, scale))
    first_ten = ten_minute_start(as_of - 49 * HOUR, TZ)
    hours = [_bucket(s, HOUR, scale) for s in range(as_of - 9 * 86400, first_ten, HOUR)]
    history.merge_external(as_of, hours=hours, days=days)
    for start in range(first_ten, as_of, TEN_MINUTES):
        history.add(_bucket(start, TEN_MINUTES, scale))
    return history


def _manifest(meters: list[MeterInfo], files: dict[str, bytes], generated: str) -> bytes:
    listed = []
    for info in meters:
        entries = []
        for level in LEVELS:
            path = level_path(info.id, level)
            data = files[path]
            entries.append(FileEntry(level, path, sha256_hex(data), len(data), generated))
        listed.append(ManifestMeter(info, tuple(entries)))
    return render_manifest(listed, generated, refresh_seconds=REFRESH_SECONDS)


@dataclass(frozen=True)
class Rendered:
    """What was written under `root`: every file's bytes by its relative path."""

    root: Path
    meters: list[MeterInfo]
    generated: str
    files: dict[str, bytes]

    def replace(self, path: str, data: bytes) -> None:
        """Write a level file anew and the manifest with its new hash, as a boundary would."""
        self.files[path] = data
        self.files["manifest.json"] = _manifest(self.meters, self.files, self.generated)
        for written in (path, "manifest.json"):
            (self.root / written).write_bytes(self.files[written])

    def rename(self, meter_id: str, name: str) -> None:
        """Give a meter another name in the manifest, as a change of its settings would."""
        self.meters[:] = [replace(m, name=name) if m.id == meter_id else m for m in self.meters]
        self.files["manifest.json"] = _manifest(self.meters, self.files, self.generated)
        (self.root / "manifest.json").write_bytes(self.files["manifest.json"])


def render_meters(root: Path, meters: list[MeterInfo], as_of: int) -> Rendered:
    """Render every meter's four files and the manifest at the 10-minute boundary `as_of`."""
    generated = iso_local(as_of, TZ)
    meters = sorted(meters, key=lambda info: info.id)  # the manifest's order, as the hub lists
    files: dict[str, bytes] = {}
    # A few load shapes go round the meters: building a year of history costs more than a file.
    shapes = [year_of_history(as_of, scale=0.2 + k / 3) for k in range(SHAPES)]
    for index, info in enumerate(meters):
        history = shapes[index % SHAPES]
        for level in LEVELS:
            files[level_path(info.id, level)] = render_level(info, level, history, as_of)
    files["manifest.json"] = _manifest(meters, files, generated)
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return Rendered(root, meters, generated, files)
