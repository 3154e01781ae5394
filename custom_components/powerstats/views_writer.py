"""The views writer: renders the dataset's files and writes the ones that changed.

On every 10-minute boundary it closes the due bucket of every meter, renders the views once
and tells listeners — by a dispatcher signal — which paths changed. Readers (the HTTP view, the
publisher) take the files from memory. Each meter's files are copied to the config folder every
three hours (`DISK_COPY_SECONDS`), meters taking turns at different boundaries, a meter whose
set of files changed (a meter added) at once, and all of them at once when history was merged
in and when HA stops: the views can always be rendered again from the store, so writing them to
an SD card every ten minutes would wear it for nothing. The folder's manifest lists its files
as the folder holds them. It lives in the entry's runtime data.

With many meters a boundary is a lot of work, so it never runs as one stretch: the loop is
given back every few milliseconds, each meter keeps its rendered rows (`MeterViews`) so only
new buckets are rendered, and what is on disk is known by hash, so nothing is read back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import LOGGER, REFRESH_SECONDS, SIGNAL_VIEWS_WRITTEN
from .core.fileio import write_atomically
from .core.rollup import History
from .core.timegrid import TEN_MINUTES, iso_local, ten_minute_start
from .core.views import (
    LEVELS,
    MANIFEST,
    FileEntry,
    LevelRender,
    ManifestMeter,
    MeterInfo,
    MeterViews,
    level_path,
    refresh_period,
    render_manifest,
    sha256_hex,
)

if TYPE_CHECKING:
    from .meter import PowerStatsMeter

# The longest the writer keeps the event loop before letting other work run.
SLICE_SECONDS = 0.003
# Loop passes a pause gives away: the loop takes in a timer or an I/O event that fell due during
# a slice only on its next pass, and the task such a callback wakes runs on the pass after that;
# a single pass would queue the next slice ahead of both.
PASSES_PER_PAUSE = 3
# A file with more rows than this to dump (a meter's first render) is rendered in the executor.
ROWS_ON_THE_LOOP = 24
# Files written by one executor job (jobs run side by side).
WRITES_PER_JOB = 16
# How far the copy in the config folder may fall behind the rendered files. What is lost in
# a crash is rendered again from the store at the next start, so this bounds only how stale
# the folder looks to someone reading it directly, against how much is written a day.
DISK_COPY_SECONDS = 3 * 3600


# What a level file was last rendered from: the meter as the files name it, its history and
# how many merges that history had, and the level's refresh period (`refresh_period`).
type _Stamp = tuple[MeterInfo, History, int, int]


class Slices:
    """Gives the event loop back whenever a long piece of work has held it for a slice."""

    def __init__(self, seconds: float = SLICE_SECONDS) -> None:
        self._seconds = seconds
        self._since = time.perf_counter()

    async def pause(self) -> None:
        """Let other work run if this slice is used up."""
        if time.perf_counter() - self._since >= self._seconds:
            await self.give_way()

    async def give_way(self) -> None:
        """Let what fell due during this slice run first, then start a new slice."""
        for _ in range(PASSES_PER_PAUSE):
            await asyncio.sleep(0)
        self._since = time.perf_counter()


@dataclass(frozen=True, slots=True)
class ServedFile:
    """One file as rendered: its exact bytes and hash (the HTTP view's ETag)."""

    data: bytes
    sha256: str


@dataclass(frozen=True, slots=True)
class ViewsWritten:
    """Sent after a refresh: data up to `as_of`; `changed` relative paths have new bytes.

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
        # Per meter id: its rendered rows and files, so an unchanged bucket is never redone.
        self._views: dict[str, MeterViews] = {}
        # Per level file: what it was last rendered from (see `_Stamp`).
        self._stamps: dict[str, _Stamp] = {}
        # The hash of each file as it is on disk (unknown paths are compared once, by reading).
        self._on_disk: dict[str, str] = {}
        # Per meter id: the manifest's entry for it now, and as of its last copy to disk (with
        # that copy's boundary).
        self._listed: dict[str, ManifestMeter] = {}
        self._copied: dict[str, tuple[ManifestMeter, int]] = {}
        # Meters whose last copy failed (a full disk, say): copied again at the next boundary.
        self._copy_failed: frozenset[str] = frozenset()
        # Level files that could not be rendered: logged once, not at every boundary.
        self._unrenderable: set[str] = set()
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
        slices = Slices()
        for meter in list(self._meters().values()):
            meter.async_close_due(boundary)
            await slices.pause()
        # The refresh times slices of its own: end this one first.
        await slices.give_way()
        await self.async_refresh_served(boundary)

    async def async_set_maintenance(self, on: bool) -> None:
        """Serve the manifest with maintenance `on`: done when this returns, so whoever turned
        it (the board's admin page, say) reads it right after."""
        self.maintenance = on
        await self.async_refresh_served()

    async def async_refresh_served(
        self, as_of: int | None = None, *, history_changed: bool = False
    ) -> None:
        """Refresh the served files; a copy to the folder that fails is logged, not raised."""
        try:
            await self.async_refresh(as_of, history_changed=history_changed)
        except OSError as err:
            # The files are rendered and served all the same; the copy is tried again at the
            # next boundary.
            LOGGER.warning("Could not copy the PowerStats files to %s: %s", self.root, err)

    # -- rendering and writing ----------------------------------------------------------------

    async def async_refresh(
        self, as_of: int | None = None, *, force: bool = False, history_changed: bool = False
    ) -> ViewsWritten:
        """Render every view with data up to `as_of`; copy them to disk when that is due.

        `as_of` defaults to the last 10-minute boundary. `force` rewrites every file, on disk
        too; `history_changed` (past buckets merged in) copies at once.
        """
        if as_of is None:
            as_of = ten_minute_start(dt_util.utcnow().timestamp(), self.tz)
        copy_error: OSError | None = None
        async with self._lock:
            generated = iso_local(as_of, self.tz)
            files: dict[str, ServedFile] = {}
            changed: list[str] = []
            stamps: dict[str, _Stamp] = {}
            manifest_meters: list[ManifestMeter] = []
            meters = {m.config.meter_id: m for m in self._meters().values()}
            self._views = {i: v for i, v in self._views.items() if i in meters}
            slices = Slices()
            for meter_id, meter in sorted(meters.items()):
                views = self._views.setdefault(meter_id, MeterViews())
                info = meter.info
                entries: list[FileEntry] = []
                listed = self._listed.get(meter_id)
                last_entries = () if listed is None else listed.files
                history = meter.history
                for level in meter.config.levels:
                    path = level_path(meter_id, level)
                    previous = self._files.get(path)
                    # A coarse level holds what closed by its hour: rendered once within the
                    # hour unless buckets were merged into its past.
                    period = refresh_period(level, as_of, self.tz)
                    last_stamp = self._stamps.get(path)
                    stamp = _kept(last_stamp, (info, history, history.merges, period))
                    if previous is not None and not force and last_stamp is stamp:
                        served = previous
                    else:
                        plan = partial(views.plan, info, level, history, period)
                        data = await self._render_or_keep(path, plan, previous)
                        if data is None:
                            continue
                        served = (
                            previous
                            if previous is not None and previous.data is data
                            else ServedFile(data, sha256_hex(data))
                        )
                    stamps[path] = stamp
                    if force or previous is None or previous.sha256 != served.sha256:
                        self._updated[path] = generated
                        changed.append(path)
                    files[path] = served
                    entry = FileEntry(
                        level, path, served.sha256, len(served.data), self._updated[path]
                    )
                    index = len(entries)
                    entries.append(
                        _kept(last_entries[index] if index < len(last_entries) else None, entry)
                    )
                manifest_meters.append(_kept(listed, ManifestMeter(info, tuple(entries))))
                await slices.pause()
            # Many meters make a big manifest: encoding it is pure, so not on the event loop.
            manifest = await self.hass.async_add_executor_job(
                _served_manifest, manifest_meters, generated, self.maintenance
            )
            previous_manifest = self._files.get(MANIFEST)
            if force or previous_manifest is None or previous_manifest.sha256 != manifest.sha256:
                changed.append(MANIFEST)
            files[MANIFEST] = manifest
            self._files = files
            self._stamps = stamps
            self._listed = {listed.info.id: listed for listed in manifest_meters}
            self.last_as_of = as_of
            try:
                if force or history_changed:
                    await self._async_copy(self._listed, force=force)
                elif (due := self._turns_due(as_of)) or files.keys() != self._on_disk.keys():
                    # A meter removed is left out of the folder's manifest at once.
                    await self._async_copy(due, force=False)
            except OSError as err:
                copy_error = err
        # Readers of the served files (publishing) hear of them even when the copy failed.
        event = ViewsWritten(as_of, tuple(changed), history_changed)
        async_dispatcher_send(self.hass, SIGNAL_VIEWS_WRITTEN, event)
        if copy_error is not None:
            raise copy_error
        return event

    async def async_copy_to_disk(self) -> None:
        """Bring the copy in the config folder up to the rendered files (HA stops, unload)."""
        async with self._lock:
            await self._async_copy(self._listed, force=False)

    def _turns_due(self, as_of: int) -> dict[str, ManifestMeter]:
        # Meters take turns, one boundary in DISK_COPY_SECONDS each, spread evenly so that no
        # boundary writes every meter's files; a meter that missed its turn goes at the next.
        # A meter whose files are not those of its last copy (new, or a level added or left
        # out) goes at once: the folder's manifest never lists a file the folder lacks.
        turns = DISK_COPY_SECONDS // TEN_MINUTES
        tick = as_of // TEN_MINUTES
        return {
            meter_id: listed
            for index, (meter_id, listed) in enumerate(self._listed.items())
            if (tick - index) % turns == 0
            or (last := self._copied.get(meter_id)) is None
            or as_of - last[1] > DISK_COPY_SECONDS
            or _paths(last[0]) != _paths(listed)
            or meter_id in self._copy_failed
        }

    async def _async_copy(self, meters: Mapping[str, ManifestMeter], *, force: bool) -> None:
        # Writes the meters' files whose bytes differ from the disk's, then the folder's
        # manifest: the served one once every meter's copy is current, else one that lists
        # each meter's files as last copied.
        if self.last_as_of is None:
            return  # nothing rendered yet
        files = self._files
        paths = [entry.path for listed in meters.values() for entry in listed.files]
        due = {
            path: files[path].data
            for path in paths
            if force or self._on_disk.get(path) != files[path].sha256
        }
        copied = {**self._copied, **{m: (listed, self.last_as_of) for m, listed in meters.items()}}
        if all(copied.get(m, (None, 0))[0] == listed for m, listed in self._listed.items()):
            manifest = files[MANIFEST]
        else:
            manifest = await self.hass.async_add_executor_job(
                _served_manifest,
                [copied[m][0] for m in self._listed],
                iso_local(self.last_as_of, self.tz),
                self.maintenance,
            )
        if force or self._on_disk.get(MANIFEST) != manifest.sha256:
            due[MANIFEST] = manifest.data
        unknown = frozenset(path for path in due if path not in self._on_disk)
        left_out = self._left_out_levels(
            [
                meter_id
                for meter_id, listed in meters.items()
                if (last := self._copied.get(meter_id)) is None or _paths(last[0]) != _paths(listed)
            ]
        )
        try:
            await self._async_write(due, frozenset() if force else unknown)
            # Once the folder's manifest no longer lists them: a level left out is kept private,
            # not left behind as a stale copy (a file that could not be rendered stays).
            if left_out:
                await self.hass.async_add_executor_job(_remove_files, self.root, left_out)
        except OSError:
            self._copy_failed |= meters.keys()
            raise
        self._copy_failed -= meters.keys()
        on_disk = {path: sha for path, sha in self._on_disk.items() if path in files}
        on_disk.update((path, files[path].sha256) for path in paths)
        on_disk[MANIFEST] = manifest.sha256
        self._on_disk = on_disk
        self._copied = {m: copied[m] for m in self._listed if m in copied}

    def _left_out_levels(self, meter_ids: list[str]) -> list[str]:
        """The level files of these meters that their settings leave out."""
        if not meter_ids:
            return []
        chosen = {m.config.meter_id: m.config.levels for m in self._meters().values()}
        return [
            level_path(meter_id, level)
            for meter_id in meter_ids
            for level in LEVELS
            if level not in chosen.get(meter_id, LEVELS)
        ]

    async def _async_write(self, due: Mapping[str, bytes], compare: frozenset[str]) -> None:
        # Each atomic write waits for its own sync to disk: with many meters, several executor
        # threads wait side by side instead of one waiting for every file in turn.
        # The manifest goes last, once every file it lists is on disk: a reader that finds a new
        # manifest finds the files it describes.
        paths = [path for path in due if path != MANIFEST]
        chunks = [paths[i : i + WRITES_PER_JOB] for i in range(0, len(paths), WRITES_PER_JOB)]
        await asyncio.gather(
            *(
                self.hass.async_add_executor_job(
                    _write_changed, self.root, {p: due[p] for p in chunk}, compare
                )
                for chunk in chunks
            )
        )
        if MANIFEST in due:
            await self.hass.async_add_executor_job(
                _write_changed, self.root, {MANIFEST: due[MANIFEST]}, compare
            )

    async def _render_or_keep(
        self, path: str, plan: Callable[[], bytes | LevelRender], previous: ServedFile | None
    ) -> bytes | None:
        """The file as `plan` renders it; its last version (None before a first one) when it
        holds a number no file can hold (stored before readings were bounded), so that every
        other file goes on."""
        try:
            data = await self._render(plan())
        except (ValueError, OverflowError):
            if path not in self._unrenderable:  # logged once, not at every boundary
                self._unrenderable.add(path)
                LOGGER.exception("Could not render %s; its last version stays", path)
            return None if previous is None else previous.data
        self._unrenderable.discard(path)
        return data

    async def _render(self, planned: bytes | LevelRender) -> bytes:
        if isinstance(planned, bytes):
            return planned
        if planned.misses > ROWS_ON_THE_LOOP:
            return await self.hass.async_add_executor_job(planned.run)
        return planned.run()


def _paths(listed: ManifestMeter) -> list[str]:
    return [entry.path for entry in listed.files]


def _kept[T](last: T | None, new: T) -> T:
    """`last` if it equals `new`, else `new`.

    What is kept from one boundary to the next is best the same object: new equal ones, made
    at every boundary and kept until the next, would add up to Python's full garbage
    collections, which hold the event loop for the whole process's objects.
    """
    return last if last is not None and last == new else new


def _served_manifest(meters: list[ManifestMeter], generated: str, maintenance: bool) -> ServedFile:
    data = render_manifest(
        meters, generated, refresh_seconds=REFRESH_SECONDS, maintenance=maintenance
    )
    return ServedFile(data, sha256_hex(data))


def _write_changed(root: Path, due: Mapping[str, bytes], compare: frozenset[str]) -> None:
    """Write each due file atomically; those in `compare` only if disk holds other bytes.

    Executor only. Files whose bytes on disk are known are never read back.
    """
    for rel, data in due.items():
        target = root / rel
        if rel in compare:
            try:
                if target.read_bytes() == data:
                    continue
            except FileNotFoundError:
                pass
        write_atomically(target, data)


def _remove_files(root: Path, paths: list[str]) -> None:
    """Remove files the folder's manifest no longer lists, where there are. Executor only."""
    for rel in paths:
        (root / rel).unlink(missing_ok=True)
