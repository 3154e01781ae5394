"""Persistence: per meter subentry, a versioned HA `Store` (the snapshot) and its journal.

The snapshot holds the history (10-minute, hourly and daily buckets) and the open bucket; HA
writes it atomically. Rewriting it whole at every 10-minute boundary would write a year of days
144 times a day, so a boundary only appends one line to the meter's journal (the buckets closed
since the last line and the open bucket); the snapshot is rewritten when the journal holds a
day of lines, when buckets were merged in (backfill, import, restore: only a snapshot holds
those, so one that fails is tried again at every boundary) and at every stop. Each snapshot
starts a new epoch; journal lines carry the epoch they were written in, and loading replays the
lines of the snapshot's epoch and later (replaying a bucket twice is harmless). A torn last
line (a crash while appending) is skipped: it held at most what closed at that boundary.

A file HA cannot parse is renamed aside by HA; one that parses but does not hold what
PowerStats wrote is reported here. Either way the meter starts fresh, with a repair issue,
instead of failing setup again at every start.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import IO, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.singleton import singleton
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .const import (
    DOMAIN,
    ISSUE_STORE_MISSING,
    ISSUE_STORE_RECOVERED,
    LOGGER,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
    meter_store_key,
    store_issue_id,
)
from .core.accounting import Bucket, Kind, MeterAccumulator
from .core.fileio import make_folder, sync_folder, write_atomically
from .core.rollup import History, bucket_from_list, bucket_to_list
from .core.timegrid import ten_minute_start

type StoreData = dict[str, Any]

# A day of boundaries: the journal is folded into the snapshot about once a day.
JOURNAL_LINES_PER_SNAPSHOT: Final = 144


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a meter starts from."""

    history: History
    accumulator: MeterAccumulator | None
    recovered: bool  # the store was corrupt and the meter started fresh
    # The snapshot's epoch and whether a snapshot was found at all.
    epoch: int = 0
    found: bool = False
    # Lines in the journal file (of any epoch): how far it is from being folded in.
    journal_lines: int = 0


class MeterStore(Store[StoreData]):
    """The Store of one meter, with migrations between layouts."""

    def __init__(self, hass: HomeAssistant, subentry_id: str) -> None:
        self.subentry_id = subentry_id
        super().__init__(
            hass,
            STORAGE_VERSION,
            meter_store_key(subentry_id),
            minor_version=STORAGE_MINOR_VERSION,
            atomic_writes=True,
        )
        self.journal = Path(f"{self.path}.journal")
        self._written = False  # whether the last write of the snapshot reached the disk

    async def async_save_snapshot(self, data: StoreData) -> bool:
        """Save `data` now; whether it reached the disk.

        HA's Store logs a failed write and returns as if it had written: dropping the journal
        after a snapshot that is not on disk would lose what only the journal holds.
        """
        self._written = False
        await self.async_save(data)
        return self._written

    async def _async_write_data(self, *args: Any) -> None:
        # The one step of HA's Store that raises when the write fails (its arguments differ
        # between HA versions: passed on as they come).
        await super()._async_write_data(*args)
        self._written = True

    async def async_append(self, line: bytes) -> None:
        """Append one journal line and sync it to disk."""
        await journal_appends(self.hass).async_append(self.journal, line)

    async def async_drop_journal_before(self, epoch: int) -> int:
        """Drop the journal lines older than `epoch` (the snapshot holds them); lines left."""
        return await self.hass.async_add_executor_job(_keep_from, self.journal, epoch)

    async def async_read_journal(self) -> list[dict[str, Any]]:
        """Every complete journal line, oldest first."""
        return await self.hass.async_add_executor_job(_read_journal, self.journal)

    async def async_remove(self) -> None:
        """Remove the snapshot and the journal."""
        await super().async_remove()
        await self.hass.async_add_executor_job(_unlink, self.journal)

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: StoreData
    ) -> StoreData:
        """Bring an older layout up to date."""
        if old_major_version == 1 and old_minor_version < 2:
            # 1.1 had no `backfill` field on buckets; nothing was backfilled then.
            history = old_data.get("history", {})
            for level in ("ten_minutes", "hours", "days"):
                history[level] = [[*row, 0.0] for row in history.get(level, [])]
        # Up to 1.2 the snapshot was all there was: epoch 0, and no journal line is newer.
        old_data.setdefault("epoch", 0)
        return old_data


class JournalAppends:
    """Appends the journal lines of every meter, the lines waiting taken by one executor job.

    At a boundary every meter appends a line and syncs it. As a job each, 200 meters made 200
    thread hand-offs and loop wake-ups, and 200 syncs running side by side contended in the
    kernel: the largest part of a boundary's CPU. One job at a time takes every line waiting,
    so a boundary makes a few jobs whose syncs run one after the other.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._waiting: list[tuple[Path, bytes, asyncio.Future[None]]] = []
        self._writing = False

    async def async_append(self, path: Path, line: bytes) -> None:
        """Append `line` to the journal at `path`; returns once it is synced to disk."""
        synced = self._hass.loop.create_future()
        self._waiting.append((path, line, synced))
        if not self._writing:
            self._writing = True
            # Not started eagerly: the meters closing in the same slice join the first job.
            self._hass.async_create_task(self._async_write(), eager_start=False)
        await synced

    async def _async_write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                errors: list[Exception | None]
                try:
                    errors = await self._hass.async_add_executor_job(
                        _append_each, [(path, line) for path, line, _ in batch]
                    )
                except asyncio.CancelledError:  # HA stopping: nobody waits for ever
                    for _, _, synced in [*batch, *self._waiting]:
                        synced.cancel()
                    self._waiting = []
                    raise
                except Exception as err:  # the job's own fault: its lines fail, the writer goes on
                    errors = [err] * len(batch)
                for (_, _, synced), error in zip(batch, errors, strict=True):
                    _settle(synced, error)
        finally:
            self._writing = False


@callback
@singleton(HassKey["JournalAppends"](f"{DOMAIN}_journal_appends"))
def journal_appends(hass: HomeAssistant) -> JournalAppends:
    """The process's one `JournalAppends`."""
    return JournalAppends(hass)


def _settle(synced: asyncio.Future[None], error: Exception | None) -> None:
    if synced.done():
        return  # its meter stopped waiting (unloaded)
    if error is None:
        synced.set_result(None)
    else:
        synced.set_exception(error)


def encode(history: History, accumulator: dict[str, Any], epoch: int) -> StoreData:
    """The snapshot's JSON data; `accumulator` in its JSON form (`MeterAccumulator.to_json`).

    Reads nothing but `history`: it may run in another thread on a copy of the history.
    """
    data: StoreData = {"history": history.to_json(), "accumulator": accumulator, "epoch": epoch}
    if (zone := getattr(history.tz, "key", None)) is not None:
        data["zone"] = zone  # the zone its days were cut in (HA's may change)
    return data


def journal_line(epoch: int, closed: Iterable[Bucket], accumulator: MeterAccumulator) -> bytes:
    """One journal line: the buckets closed since the last line, and the open bucket."""
    body = {"e": epoch, "b": [bucket_to_list(b) for b in closed], "a": accumulator.to_json()}
    return (json.dumps(body, separators=(",", ":"), allow_nan=False) + "\n").encode()


def _rebuild(
    data: StoreData, lines: list[dict[str, Any]], epoch: int, kind: Kind, tz: tzinfo
) -> tuple[History, MeterAccumulator | None]:
    history, accumulator = decode(data, kind, tz)
    zone = data.get("zone")
    was = _zone(zone) if zone != getattr(tz, "key", None) else None
    if was is not None:
        history.move_from_zone(was)
    accumulator = _replay(lines, epoch, history, kind, tz) or accumulator
    if accumulator is not None and not accumulator.on_grid:
        # Opened in the old zone: every bucket after it would open where the last ended, off
        # this zone's grid. What it measured is spread over the grid like the closed buckets,
        # and the share of the slot now open is taken back into it.
        if (measured := accumulator.measured_so_far()) is not None:
            history.add(measured)
        history.onto_grid()
        accumulator.reopen(history.take(ten_minute_start(accumulator.accounted_until, tz)))
    elif was is not None:
        history.onto_grid()  # buckets of journal lines written in the old zone
    return history, accumulator


def _zone(name: Any) -> tzinfo | None:
    """The zone a snapshot names; None for none, or one this system does not know."""
    if not isinstance(name, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _replay(
    lines: list[dict[str, Any]], epoch: int, history: History, kind: Kind, tz: tzinfo
) -> MeterAccumulator | None:
    """Add the buckets of the lines of `epoch` and later; the open bucket of the last one."""
    accumulator = None
    for line in lines:
        if int(line["e"]) < epoch:
            continue
        for row in line["b"]:
            history.add(bucket_from_list(row))
        accumulator = MeterAccumulator.from_json(kind, tz, line["a"])
    return accumulator


def decode(data: StoreData, kind: Kind, tz: tzinfo) -> tuple[History, MeterAccumulator | None]:
    """History and open bucket from the store's JSON data; raises on anything malformed."""
    history = History.from_json(tz, data["history"])
    acc = data.get("accumulator")
    accumulator = MeterAccumulator.from_json(kind, tz, acc) if acc is not None else None
    return history, accumulator


async def async_load(
    hass: HomeAssistant,
    store: MeterStore,
    kind: Kind,
    tz: tzinfo,
    meter_name: str,
    *,
    expected: bool,
) -> Loaded:
    """Load a meter's store, recovering from a corrupt or missing file.

    `expected`: the store was written before, so finding none means it was lost.
    """
    existed = await hass.async_add_executor_job(os.path.exists, store.path)
    try:
        data = await store.async_load()
        if data is None:
            # Journal lines without their snapshot would be replayed onto the wrong history.
            await hass.async_add_executor_job(_set_aside, str(store.journal))
            if existed:
                # HA found the file unreadable and moved it aside.
                return _recovered(hass, store, tz, meter_name, ISSUE_STORE_RECOVERED)
            if expected:
                LOGGER.error("The saved history of %s is missing; starting afresh", meter_name)
                return _recovered(hass, store, tz, meter_name, ISSUE_STORE_MISSING)
            return Loaded(History(tz), None, recovered=False)
        epoch = int(data.get("epoch", 0))
        lines = await store.async_read_journal()
        # A year of buckets takes milliseconds to rebuild: not on the event loop.
        history, accumulator = await hass.async_add_executor_job(
            _rebuild, data, lines, epoch, kind, tz
        )
    except Exception:
        LOGGER.exception("The saved history of %s could not be read", meter_name)
        await hass.async_add_executor_job(_set_aside, store.path)
        await hass.async_add_executor_job(_set_aside, str(store.journal))
        return _recovered(hass, store, tz, meter_name, ISSUE_STORE_RECOVERED)
    return Loaded(
        history, accumulator, recovered=False, epoch=epoch, found=True, journal_lines=len(lines)
    )


def _append_each(lines: list[tuple[Path, bytes]]) -> list[Exception | None]:
    # One journal failing (disk full, no permission) fails its own meter's save, not the others'.
    errors: list[Exception | None] = []
    for path, line in lines:
        try:
            _append(path, line)
        except OSError as err:
            errors.append(err)
        else:
            errors.append(None)
    return errors


def _append(path: Path, line: bytes) -> None:
    # Appending one line is the smallest write that keeps a closed bucket; synced like an
    # atomic write, so a power cut loses at most the line being written.
    try:
        handle = path.open("a+b")
    except FileNotFoundError:
        make_folder(path.parent)  # only the first line, not every one
        handle = path.open("a+b")
    with handle:
        begun = handle.seek(0, os.SEEK_END) == 0
        if _ends_torn(handle):
            line = b"\n" + line  # not glued to the torn end of the line a power cut left
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    if begun:
        # A journal just begun is kept by a power cut only once its folder lists it.
        sync_folder(path.parent)


def _ends_torn(handle: IO[bytes]) -> bool:
    """Whether the file's last line has no end (a write cut short)."""
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return False
    handle.seek(size - 1)
    return handle.read(1) != b"\n"


def _read_journal(path: Path) -> list[dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    lines: list[dict[str, Any]] = []
    for text in raw.split(b"\n"):
        try:
            line = json.loads(text)
        except ValueError:
            continue  # the torn end of a line written when power was cut (or an empty line)
        if isinstance(line, dict) and {"e", "b", "a"} <= line.keys():
            lines.append(line)
    return lines


def _keep_from(path: Path, epoch: int) -> int:
    kept = [line for line in _read_journal(path) if int(line["e"]) >= epoch]
    if not kept:
        _unlink(path)
        return 0
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in kept)
    write_atomically(path, text.encode())
    return len(kept)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _set_aside(path: str) -> None:
    if os.path.exists(path):
        os.replace(path, f"{path}.corrupt.{dt_util.utcnow().strftime('%Y%m%dT%H%M%S')}")


def _recovered(
    hass: HomeAssistant, store: MeterStore, tz: tzinfo, meter_name: str, reason: str
) -> Loaded:
    ir.async_create_issue(
        hass,
        DOMAIN,
        store_issue_id(store.subentry_id),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=reason,
        translation_placeholders={"meter": meter_name},
    )
    return Loaded(History(tz), None, recovered=True)
