"""A published folder for tests: what PowerStats publishes for a history, by the real views."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from custom_components.powerstats.core.accounting import Kind, MeterAccumulator
from custom_components.powerstats.core.rollup import History
from custom_components.powerstats.core.timegrid import iso_local
from custom_components.powerstats.core.views import (
    LEVELS,
    FileEntry,
    Level,
    ManifestMeter,
    MeterInfo,
    level_path,
    render_level,
    render_manifest,
    sha256_hex,
)


@dataclass
class Folder:
    """A published folder: manifest.json and the level files, by relative path."""

    files: dict[str, bytes]

    @property
    def manifest(self) -> bytes:
        return self.files["manifest.json"]

    def edit_level(self, path: str, change: Any) -> None:
        """Change a level file and keep the manifest's size and hash true to it."""
        doc = json.loads(self.files[path])
        change(doc)
        self.replace(path, json.dumps(doc).encode())

    def replace(self, path: str, data: bytes) -> None:
        self.files[path] = data
        manifest = json.loads(self.manifest)
        for meter in manifest["meters"]:
            for entry in meter["files"].values():
                if entry["path"] == path:
                    entry["sha256"] = hashlib.sha256(data).hexdigest()
                    entry["bytes"] = len(data)
        self.files["manifest.json"] = json.dumps(manifest).encode()

    def edit_manifest(self, change: Any) -> None:
        manifest = json.loads(self.manifest)
        change(manifest)
        self.files["manifest.json"] = json.dumps(manifest).encode()


def publish(
    history: History, as_of: int, info: MeterInfo, levels: Iterable[Level] = LEVELS
) -> Folder:
    """What PowerStats publishes for `history` at `as_of`, rendered by the real views."""
    files: dict[str, bytes] = {}
    entries = []
    for level in levels:
        data = render_level(info, level, history, as_of)
        path = level_path(info.id, level)
        files[path] = data
        entries.append(
            FileEntry(level, path, sha256_hex(data), len(data), iso_local(as_of, history.tz))
        )
    manifest = render_manifest(
        [ManifestMeter(info, tuple(entries))], iso_local(as_of, history.tz), refresh_seconds=600
    )
    files["manifest.json"] = manifest
    return Folder(files)


def tracked(start: float, end: float, tz: tzinfo, price: float = 0.27) -> History:
    """A history as live tracking builds it over [start, end): an uneven load, priced.

    The load changes every 173 s, so buckets hold odd floats as real ones do.
    """
    acc = MeterAccumulator(Kind.POWER, tz, start)
    acc.set_price(start, price)
    history = History(tz)
    t, watts = start, 321.123
    while t < end:
        for bucket in acc.feed(t, repr(watts), "W"):
            history.add(bucket)
        t += 173
        watts = (watts * 1.37) % 2900 + 40.5
    for bucket in acc.advance(end):
        history.add(bucket)
    history.prune(end)
    return history


def write_folder(folder: Folder, root: Path) -> None:
    """Lay a published folder out under `root`, as Pages, the board or a copy hold it."""
    for path, data in folder.files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
