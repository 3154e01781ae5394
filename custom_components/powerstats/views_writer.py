"""The views writer: renders the dataset's files and writes the ones that changed.

On every 10-minute boundary it closes the due bucket of every meter, renders the views once,
writes the files whose bytes changed (in the executor, atomically) and then tells listeners —
by a dispatcher signal — which paths changed. It lives in the entry's runtime data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import REFRESH_SECONDS, SIGNAL_VIEWS_WRITTEN
from .core.fileio import write_atomically
from .core.timegrid import TEN_MINUTES, iso_local, ten_minute_start
from .core.views import (
    MANIFEST,
    FileEntry,
    ManifestMeter,
    level_path,
    render_level,
    render_manifest,
    sha256_hex,
)

if TYPE_CHECKING:
    from .meter import PowerStatsMeter


@dataclass(frozen=True, slots=True)
class ServedFile:
    """One file as rendered: its exact bytes and hash (the HTTP view's ETag)."""

    data: bytes
    sha256: str


@dataclass(frozen=True, slots=True)
class ViewsWritten:
    """Sent after a refresh: data up to `as_of`; `changed` relative paths were rewritten.

    `history_changed` is set when buckets of the past were merged in (backfill, import), so
    the files changed by more than the regular tick: publishing sends such a change at once.
    """

    as_of: int
    changed: tuple[str, ...]
    history_changed: bool = False


class ViewsWriter:
    """The dataset's rendered files and the 10-minute tick that refreshes them."""

    def __init__(
        self,
        hass: HomeAssistant,
        tz: tzinfo,
        root: Path,
        meters: Callable[[], Mapping[str, PowerStatsMeter]],
    ) -> None:
        self.hass = hass
        self.tz = tz
        self.root = root
        self._meters = meters
        self._files: dict[str, ServedFile] = {}
        self._updated: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._unsub_tick: CALLBACK_TYPE | None = None
        self.last_as_of: int | None = None
        # Set while publishing is held for maintenance; readers show a banner.
        self.maintenance = False

    @property
    def files(self) -> Mapping[str, ServedFile]:
        """Rendered files by relative path: manifest.json and every file it lists."""
        return self._files

    def file_bytes(self, path: str) -> bytes | None:
        """The exact bytes of a listed file (or the manifest), None if not listed."""
        served = self._files.get(path)
        return None if served is None else served.data

    # -- the tick --------------------------------------------------------------------------

    @callback
    def async_start_tick(self) -> CALLBACK_TYPE:
        """Close buckets and refresh the files at every 10-minute boundary; returns the stop."""
        self._schedule_tick(dt_util.utcnow().timestamp())
        return self._stop_tick

    @callback
    def _stop_tick(self) -> None:
        if self._unsub_tick is not None:
            self._unsub_tick()
            self._unsub_tick = None

    def _schedule_tick(self, now: float) -> None:
        boundary = ten_minute_start(now, self.tz) + TEN_MINUTES
        self._unsub_tick = async_track_point_in_utc_time(
            self.hass, self._async_tick, dt_util.utc_from_timestamp(boundary)
        )

    async def _async_tick(self, fired: datetime) -> None:
        # Account to the boundary itself, not the (slightly later) firing time; if the loop
        # was held up past further boundaries, close those too.
        now = max(fired.timestamp(), dt_util.utcnow().timestamp())
        boundary = ten_minute_start(now, self.tz)
        self._schedule_tick(now)
        for meter in list(self._meters().values()):
            meter.async_close_due(boundary)
        await self.async_refresh(boundary)

    # -- rendering and writing ----------------------------------------------------------------

    async def async_refresh(
        self, as_of: int | None = None, *, force: bool = False, history_changed: bool = False
    ) -> ViewsWritten:
        """Render every view with data up to `as_of` and write the files that changed.

        `as_of` defaults to the last 10-minute boundary. `force` rewrites every file.
        """
        if as_of is None:
            as_of = ten_minute_start(dt_util.utcnow().timestamp(), self.tz)
        async with self._lock:
            generated = iso_local(as_of, self.tz)
            rendered: dict[str, bytes] = {}
            manifest_meters: list[ManifestMeter] = []
            meters = {m.config.meter_id: m for m in self._meters().values()}
            for meter_id, meter in sorted(meters.items()):
                entries: list[FileEntry] = []
                for level in meter.config.levels:
                    path = level_path(meter_id, level)
                    data = render_level(meter.info, level, meter.history, as_of)
                    rendered[path] = data
                    digest = sha256_hex(data)
                    previous = self._files.get(path)
                    if force or previous is None or previous.sha256 != digest:
                        self._updated[path] = generated
                    entries.append(FileEntry(level, path, digest, len(data), self._updated[path]))
                manifest_meters.append(ManifestMeter(meter.info, tuple(entries)))
            rendered[MANIFEST] = render_manifest(
                manifest_meters,
                generated,
                refresh_seconds=REFRESH_SECONDS,
                maintenance=self.maintenance,
            )
            changed = await self.hass.async_add_executor_job(
                _write_changed, self.root, rendered, force
            )
            self._files = {
                path: ServedFile(data, sha256_hex(data)) for path, data in rendered.items()
            }
            self.last_as_of = as_of
        event = ViewsWritten(as_of, tuple(changed), history_changed)
        async_dispatcher_send(self.hass, SIGNAL_VIEWS_WRITTEN, event)
        return event


def _write_changed(root: Path, rendered: Mapping[str, bytes], force: bool) -> list[str]:
    """Write each file whose bytes differ from what is on disk; atomically. Executor only."""
    changed: list[str] = []
    for rel, data in rendered.items():
        target = root / rel
        if not force:
            try:
                if target.read_bytes() == data:
                    continue
            except FileNotFoundError:
                pass
        write_atomically(target, data)
        changed.append(rel)
    return changed
