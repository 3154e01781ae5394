"""The hub: what all meters share — the 10-minute tick, the rendered files and the manifest.

One hub lives in `hass.data` while at least one meter is loaded. On every 10-minute boundary it
closes the due bucket of every meter, renders the views once, writes the files whose bytes
changed (in the executor, atomically) and then tells listeners which paths changed.
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

from . import panel
from .const import DATA_DIR, DATA_HUB, MANIFEST, REFRESH_SECONDS, SIGNAL_VIEWS_WRITTEN
from .fileio import write_atomically
from .http import async_register_view
from .timegrid import TEN_MINUTES, iso_local, ten_minute_start
from .views import FileEntry, ManifestMeter, level_path, render_level, render_manifest, sha256_hex

if TYPE_CHECKING:
    from .runtime import PowerStatsMeter


@dataclass(frozen=True, slots=True)
class ServedFile:
    """One file as rendered: its exact bytes and hash (the HTTP view's ETag)."""

    data: bytes
    sha256: str


@dataclass(frozen=True, slots=True)
class ViewsWritten:
    """Sent after a refresh: data up to `as_of`; `changed` relative paths were rewritten."""

    as_of: int
    changed: tuple[str, ...]


type ViewsListener = Callable[[ViewsWritten], None]


class PowerStatsHub:
    """Shared state of every loaded meter."""

    def __init__(self, hass: HomeAssistant, tz: tzinfo) -> None:
        self.hass = hass
        self.tz = tz
        self.root = Path(hass.config.path(DATA_DIR))
        self.meters: dict[str, PowerStatsMeter] = {}
        self._files: dict[str, ServedFile] = {}
        self._updated: dict[str, str] = {}
        self._listeners: list[ViewsListener] = []
        self._lock = asyncio.Lock()
        self._unsub_tick: CALLBACK_TYPE | None = None
        self.last_as_of: int | None = None
        # Set by publishing while any meter is in maintenance; readers show a banner.
        self.maintenance = False

    @property
    def files(self) -> Mapping[str, ServedFile]:
        """Rendered files by relative path: manifest.json and every file it lists."""
        return self._files

    def file_bytes(self, path: str) -> bytes | None:
        """The exact bytes of a listed file (or the manifest), None if not listed."""
        served = self._files.get(path)
        return None if served is None else served.data

    @callback
    def async_add_views_listener(self, listener: ViewsListener) -> CALLBACK_TYPE:
        """Be told after every refresh which files changed; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- life cycle ------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Start the 10-minute tick and show the panel."""
        self._schedule_tick(dt_util.utcnow().timestamp())
        await panel.async_register_panel(self.hass)

    async def async_stop(self) -> None:
        """Stop the tick and remove the panel (the last meter was unloaded)."""
        if self._unsub_tick is not None:
            self._unsub_tick()
            self._unsub_tick = None
        await panel.async_unregister_panel(self.hass)

    async def async_add_meter(self, meter: PowerStatsMeter) -> None:
        """A meter was loaded: list it and render its files."""
        self.meters[meter.config.meter_id] = meter
        await self.async_refresh()

    async def async_remove_meter(self, meter: PowerStatsMeter) -> None:
        """A meter was unloaded: drop it from the manifest (its files stay on disk)."""
        self.meters.pop(meter.config.meter_id, None)
        prefix = f"{meter.config.meter_id}/"
        for path in [p for p in self._files if p.startswith(prefix)]:
            del self._files[path]
        if self.meters:
            await self.async_refresh()

    # -- the tick --------------------------------------------------------------------------

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
        for meter in list(self.meters.values()):
            meter.async_close_due(boundary)
        await self.async_refresh(boundary)

    # -- rendering and writing ----------------------------------------------------------------

    async def async_refresh(self, as_of: int | None = None, *, force: bool = False) -> ViewsWritten:
        """Render every view with data up to `as_of` and write the files that changed.

        `as_of` defaults to the last 10-minute boundary. `force` rewrites every file.
        """
        if as_of is None:
            as_of = ten_minute_start(dt_util.utcnow().timestamp(), self.tz)
        async with self._lock:
            generated = iso_local(as_of, self.tz)
            rendered: dict[str, bytes] = {}
            manifest_meters: list[ManifestMeter] = []
            for meter_id, meter in sorted(self.meters.items()):
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
        event = ViewsWritten(as_of, tuple(changed))
        for listener in list(self._listeners):
            listener(event)
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


async def async_get_hub(hass: HomeAssistant) -> PowerStatsHub:
    """The hub, created (with its tick, HTTP view and panel) for the first meter."""
    if (hub := hass.data.get(DATA_HUB)) is not None:
        return hub

    hub = PowerStatsHub(hass, dt_util.get_default_time_zone())
    hass.data[DATA_HUB] = hub
    async_register_view(hass)
    await hub.async_start()
    return hub


async def async_release_hub(hass: HomeAssistant, meter: PowerStatsMeter) -> None:
    """Drop a meter from the hub; the hub goes with the last meter."""
    hub = hass.data.get(DATA_HUB)
    if hub is None:
        return
    await hub.async_remove_meter(meter)
    if not hub.meters:
        await hub.async_stop()
        hass.data.pop(DATA_HUB, None)
