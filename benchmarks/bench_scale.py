"""Benchmark of PowerStats with many meters: boundary, setup, start, writes, memory, state cost.

Run with the project's venv python; prints a markdown section to stdout and exits 0.
Every figure is measured on a real HA core (the pytest-homeassistant-custom-component harness)
with N = 1, 10, 50, 200 meters, fresh and with a year of history each (a year of days, 9 days of
hours, 49 h of 10-minute buckets, as the issue's "before" table measured them):
- the longest event-loop stretch while a 10-minute boundary is handled (a watcher task that
  wakes every millisecond notes how late it woke), and the CPU time of the boundary per meter,
  at an ordinary boundary and at the first three boundaries of an hour (which also refresh the
  weekly, the monthly and the yearly file, one each);
- adding the meters one by one (as the config flow does) to a running, fresh dataset;
- HA start: setting up the dataset with all N meters at once, and the longest stretch meanwhile;
- the same over a three-hour cycle of boundaries, in which every meter's files are copied to
  the config folder once (and about an eighth of the meters fold their journal into their
  snapshot, each at its own boundary of the day): its worst boundary;
- bytes PowerStats wrote (the view files it wrote to disk, plus what its store files grew by
  or were rewritten with) at an ordinary boundary, at the first three boundaries of an hour
  and over the cycle, and per meter per day (eight cycles);
- RSS growth after start and a boundary, per meter;
- µs of PowerStats' share per state change of a followed sensor with all N meters loaded.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Import the project's package before HA's test helpers put their own custom_components first.
import custom_components.powerstats  # noqa: E402, F401
from custom_components.powerstats import views_writer  # noqa: E402
from custom_components.powerstats.const import (  # noqa: E402
    DATA_DIR,
    DOMAIN,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
    SUBENTRY_METER,
    TITLE,
    meter_store_key,
)
from custom_components.powerstats.core import fileio  # noqa: E402
from custom_components.powerstats.core.timegrid import (  # noqa: E402
    HOUR,
    TEN_MINUTES,
    day_bounds,
    hour_start,
    local_date,
    ten_minute_start,
)
from custom_components.powerstats.store import JOURNAL_LINES_PER_SNAPSHOT  # noqa: E402
from custom_components.powerstats.views_writer import DISK_COPY_SECONDS  # noqa: E402

BOUNDARIES_PER_DAY = 144
# Boundaries of an hour that also refresh a coarse level (weekly, monthly, yearly).
COARSE_PER_HOUR = 3
# Boundaries a day that copy the files to the config folder.
COPIES_PER_DAY = 86400 // DISK_COPY_SECONDS
TZ_NAME = "Europe/Amsterdam"
TZ = ZoneInfo(TZ_NAME)
SIZES: tuple[int, ...] = (1, 10, 50, 200)
W = {"unit_of_measurement": "W"}
# The goals and its "before" table (HA 2025.4.4, this machine, a year of history).
GOAL_STRETCH_MS = 20.0
GOAL_CPU_MS_PER_METER = 2.0
GOAL_START_S = 5.0
GOAL_START_STRETCH_MS = 50.0
GOAL_BYTES_PER_METER_DAY = 1_000_000
GOAL_US_PER_CHANGE = 10.0
GOAL_MB_PER_METER = 0.3
BEFORE: dict[str, dict[int, float]] = {
    "stretch_ms": {1: 8, 10: 79, 50: 370, 200: 1455},
    "one_by_one_s": {1: 0.03, 10: 0.47, 50: 8.5, 200: 115},
    "start_s": {50: 14, 200: 228},
    "bytes": {1: 221e3, 10: 2.2e6, 50: 11e6, 200: 44e6},
    "rss_mb": {1: 1, 10: 7, 50: 32, 200: 131},
}


@dataclass
class Row:
    """What one N and one history measured."""

    meters: int
    year: bool
    start_s: float = 0.0
    start_stretch_ms: float = 0.0
    stretch_ms: float = 0.0
    stretch_wall_ms: float = 0.0
    start_stretch_wall_ms: float = 0.0
    cpu_ms_per_meter: float = 0.0
    boundary_bytes: int = 0
    boundary_view_bytes: int = 0
    # The first three boundaries of an hour, which also refresh the weekly, the monthly and the
    # yearly file: the longest stretch and most CPU of the three, what the three wrote.
    hour_stretch_ms: float = 0.0
    hour_stretch_wall_ms: float = 0.0
    hour_cpu_ms_per_meter: float = 0.0
    hour_bytes: int = 0
    hour_view_bytes: int = 0
    # A three-hour cycle of boundaries, in which every meter's files are copied to the config
    # folder once: the worst stretch and CPU of its boundaries, and what they wrote.
    cycle_stretch_ms: float = 0.0
    cycle_stretch_wall_ms: float = 0.0
    cycle_cpu_ms_per_meter: float = 0.0
    cycle_median_cpu_ms_per_meter: float = 0.0
    cycle_bytes: int = 0
    cycle_view_bytes: int = 0
    # Of the cycle's view bytes, the daily.json files; and their mean size over the boundaries
    # of a day over their measured size (it grows by a row a boundary, see below).
    cycle_daily_bytes: int = 0
    daily_mean_ratio: float = 1.0
    # What the cycle appended to journals, and every meter folding its journal once.
    cycle_journal_bytes: int = 0
    fold_bytes: int = 0
    rss_mb: float = 0.0
    # Python's full garbage collections during the measured boundaries (how many boundaries,
    # how many collections, the longest's CPU ms), and what a boundary leaves for the next one:
    # objects it made that outlived it, with the sources' own state changes alone beside it, of
    # the objects the process tracks.
    boundaries: int = 0
    full_collections: int = 0
    full_collection_ms: float = 0.0
    survivors: int = 0
    source_survivors: int = 0
    tracked: int = 0
    one_by_one_s: float | None = None
    us_per_change: float | None = None

    @property
    def stretch_ms_worst(self) -> float:
        return max(self.stretch_ms, self.hour_stretch_ms, self.cycle_stretch_ms)

    @property
    def boundaries_per_full_collection(self) -> float:
        """Boundaries until their survivors alone bring on a full collection: Python's
        collector walks every object once those added since its last walk (alive through two
        younger collections) number a quarter of those it found then."""
        return self.tracked / 4 / max(self.survivors, 1)

    @property
    def bytes_per_meter_day(self) -> float:
        """Eight three-hour cycles of copies and journal lines (daily.json counted at its mean
        size over the day), and one fold of the journal into the snapshot."""
        daily = self.cycle_daily_bytes * self.daily_mean_ratio
        views = COPIES_PER_DAY * (self.cycle_view_bytes - self.cycle_daily_bytes + daily)
        return views / self.meters + self.store_bytes_per_meter_day

    @property
    def store_bytes_per_meter_day(self) -> float:
        """The same, without the view files: what the store (snapshot + journal) writes."""
        return (COPIES_PER_DAY * self.cycle_journal_bytes + self.fold_bytes) / self.meters


@dataclass
class Measured:
    """One boundary: CPU ms per meter, the loop watch, and the bytes written by kind."""

    cpu_ms: float  # Python's full collections taken out
    watch: LoopWatch
    views: int
    journal: int
    snapshots: int

    @property
    def total(self) -> int:
        return self.views + self.journal + self.snapshots


class FullCollections:
    """Python's full garbage collections, as the collector reports them: the CPU time each took
    on the thread that ran it, so a stretch of the loop's thread can be told with and without.

    A full collection walks every object the process tracks (about 300,000 here), which takes
    some 200 ms whoever's allocation brings it on; what a boundary does about it is leave few
    objects behind (see `survivors`).
    """

    def __init__(self) -> None:
        self.taken: list[float] = []  # CPU seconds of each, in order
        self._spent: dict[int, float] = {}  # per thread: CPU seconds in full collections
        self._started: dict[int, float] = {}

    def _on_collection(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        thread = threading.get_ident()
        if phase == "start":
            self._started[thread] = time.thread_time()
            return
        spent = time.thread_time() - self._started.pop(thread, time.thread_time())
        self._spent[thread] = self._spent.get(thread, 0.0) + spent
        self.taken.append(spent)

    def spent(self, thread: int | None = None) -> float:
        """CPU seconds in full collections so far: on one thread, or on all."""
        if thread is None:
            return sum(self._spent.values())
        return self._spent.get(thread, 0.0)

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._on_collection)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_collection)


class LoopWatch:
    """The longest time the event loop was held: a task that asks to wake every millisecond.

    `ms` is the longest CPU time the loop's thread spent between two wake-ups, less any of
    Python's full collections in it (see `FullCollections`): what HA's other work waited for
    the code itself, without the time this shared machine gave the process no core at all.
    `wall_ms` includes both.
    """

    def __init__(self, collections: FullCollections) -> None:
        self.longest = 0.0
        self.longest_wall = 0.0
        self._collections = collections
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        thread = threading.get_ident()
        while True:
            t0, c0 = time.perf_counter(), time.thread_time()
            g0 = self._collections.spent(thread)
            await asyncio.sleep(0.001)
            held = time.thread_time() - c0 - (self._collections.spent(thread) - g0)
            self.longest = max(self.longest, held)
            self.longest_wall = max(self.longest_wall, time.perf_counter() - t0 - 0.001)

    def __enter__(self) -> LoopWatch:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    @property
    def ms(self) -> float:
        return self.longest * 1000

    @property
    def wall_ms(self) -> float:
        return self.longest_wall * 1000


def survivors(before: set[int]) -> int:
    """Objects in the oldest generation now that were not in `before` (young ones promoted)."""
    gc.collect(1)
    return sum(1 for o in gc.get_objects(2) if id(o) not in before)


def oldest_generation() -> set[int]:
    """The ids of the oldest generation, every younger object promoted into it first."""
    gc.collect(1)
    return {id(o) for o in gc.get_objects(2)}


def store_files(config_dir: str) -> dict[Path, tuple[int, int]]:
    """Size and modification time of every PowerStats store file (snapshots and journals)."""
    found = {}
    for path in Path(config_dir, ".storage").glob(f"{DOMAIN}.*"):
        stat = path.stat()
        found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def store_bytes_written(
    before: dict[Path, tuple[int, int]], after: dict[Path, tuple[int, int]]
) -> tuple[int, int]:
    """Bytes PowerStats wrote to its stores between two looks: journal appends, rewrites."""
    appended = rewritten = 0
    for path, (size, mtime) in after.items():
        old_size, old_mtime = before.get(path, (0, 0))
        if mtime == old_mtime:
            continue
        if path.name.endswith(".journal") and size >= old_size:
            appended += size - old_size
        else:
            rewritten += size
    return appended, rewritten


def daily_mean_ratio(data: bytes) -> float:
    """A daily.json's mean size over a day's boundaries, over this one's size.

    It holds yesterday's 144 rows and today's up to the open one: 145 rows at midnight, one more
    at each boundary, 216.5 on average (a day whose clocks change aside).
    """
    rows = data.count(b"\n[")
    fixed = data.index(b"\n[") + len(b"\n]}\n")
    per_row = (len(data) - fixed) / rows
    return (fixed + (BOUNDARIES_PER_DAY + (BOUNDARIES_PER_DAY + 1) / 2) * per_row) / len(data)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def meter_id(i: int) -> str:
    return f"circuit_{i:03d}"


def subentry(i: int, *, stored: bool = False) -> dict[str, Any]:
    return {
        "subentry_id": f"subentry_{meter_id(i)}",
        "subentry_type": SUBENTRY_METER,
        "title": f"Circuit {i}",
        "unique_id": meter_id(i),
        "data": {
            "entity_id": f"sensor.circuit_{i:03d}",
            "name": f"Circuit {i}",
            "meter_id": meter_id(i),
            "kind": "power",
            "price_mode": "fixed",
            "price": 0.25,
            "backfill": False,
            **({"stored": True} if stored else {}),
        },
    }


def year_snapshot(now: float) -> dict[str, Any]:
    """A meter's store holding a year of days, 9 days of hours, 49 h of 10-minute buckets."""

    def row(start: int, seconds: int, kw: float) -> list[Any]:
        kwh = kw * seconds / 3600
        return [start, seconds, kwh, float(seconds), kw * 400, kw * 1500, kwh * 0.25, 0.0]

    open_start = ten_minute_start(now, TZ)
    ten = [row(s, TEN_MINUTES, 0.6) for s in range(open_start - 49 * HOUR, open_start, 600)]
    this_hour = hour_start(now, TZ)
    hours = [row(s, HOUR, 0.6) for s in range(this_hour - 9 * 86400, this_hour, HOUR)]
    today = local_date(now, TZ)
    days = []
    for back in range(400, 0, -1):
        start, end = day_bounds(today - timedelta(days=back), TZ)
        days.append(row(start, end - start, 0.5 + (back % 7) / 10))
    return {
        "history": {"ten_minutes": ten, "hours": hours, "days": days},
        "accumulator": {
            "t": float(open_start),
            "open": open_start,
            "ws": 0.0,
            "covered": 0.0,
            "min": None,
            "max": None,
            "cost": None,
        },
        "epoch": 1,
    }


def write_stores(config_dir: str, n: int, now: float) -> None:
    storage = Path(config_dir, ".storage")
    storage.mkdir(parents=True, exist_ok=True)
    data = year_snapshot(now)
    for i in range(n):
        key = meter_store_key(f"subentry_{meter_id(i)}")
        body = {
            "version": STORAGE_VERSION,
            "minor_version": STORAGE_MINOR_VERSION,
            "key": key,
            "data": data,
        }
        (storage / key).write_text(json.dumps(body, indent=2))


async def _with_hass[T](config_dir: str, body: Callable[[Any], Awaitable[T]]) -> T:
    from homeassistant import loader
    from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
        async_test_home_assistant,
    )

    async with async_test_home_assistant(config_dir=config_dir) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
        await hass.config.async_set_time_zone(TZ_NAME)
        hass.config.currency = "EUR"
        try:
            return await body(hass)
        finally:
            await hass.async_stop(force=True)


async def _fire(hass: Any, when: float) -> None:
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    async_fire_time_changed(hass, datetime.fromtimestamp(when, UTC))
    await hass.async_block_till_done()
    # The saves a boundary starts run in the executor; wait for them to be on disk.
    await hass.async_block_till_done(wait_background_tasks=True)


def _entry(n: int, *, stored: bool = False) -> Any:
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    return MockConfigEntry(
        domain=DOMAIN,
        entry_id="01JPOWERSTATSBENCH00000000",
        title=TITLE,
        data={},
        options={},
        subentries_data=[subentry(i, stored=stored) for i in range(n)],
    )


async def start_and_boundary(n: int, year: bool) -> Row:
    """HA start with N meters, then ordinary, coarse, copy and snapshot boundaries."""
    result = Row(n, year)
    # The view files written to disk, by path relative to the dataset's folder: bytes.
    views_written: dict[str, int] = {}
    write_atomically = fileio.write_atomically

    def counted(target: Path, data: bytes) -> None:
        write_atomically(target, data)
        views_written[target.as_posix().rpartition(f"/{DATA_DIR}/")[2]] = len(data)

    with (
        tempfile.TemporaryDirectory() as config_dir,
        patch.object(views_writer, "write_atomically", counted),
        FullCollections() as collections,
    ):
        now = time.time()
        if year:
            write_stores(config_dir, n, now)

        async def body(hass: Any) -> Row:
            for i in range(n):
                hass.states.async_set(f"sensor.circuit_{i:03d}", "600", W)
            entry = _entry(n, stored=year)
            entry.add_to_hass(hass)
            await hass.async_block_till_done()
            gc.collect()
            rss_before = rss_mb()
            with LoopWatch(collections) as watch:
                t0 = time.perf_counter()
                assert await hass.config_entries.async_setup(entry.entry_id)
                await hass.async_block_till_done()
                result.start_s = time.perf_counter() - t0
            result.start_stretch_ms = watch.ms
            result.start_stretch_wall_ms = watch.wall_ms
            writer = entry.runtime_data.writer
            boundary = ten_minute_start(time.time(), TZ) + TEN_MINUTES
            await _fire(hass, boundary)  # warms the caches up, as every boundary after start
            boundary += TEN_MINUTES
            # The measured ordinary boundary refreshes no coarse level (none of an hour's first
            # three).
            while boundary - hour_start(boundary, TZ) < COARSE_PER_HOUR * TEN_MINUTES:
                await _fire(hass, boundary)
                boundary += TEN_MINUTES

            def sources_change(step: int) -> None:
                # Every source to a value of its own, different from the step before.
                for i in range(n):
                    hass.states.async_set(f"sensor.circuit_{i:03d}", str(500 + i + step % 7), W)

            async def measured(boundary: int) -> Measured:
                sources_change(boundary // TEN_MINUTES)
                views_written.clear()
                stores = store_files(config_dir)
                cpu, collected = time.process_time(), collections.spent()
                taken = len(collections.taken)
                with LoopWatch(collections) as watch:
                    await _fire(hass, boundary)
                cpu_ms = (time.process_time() - cpu - (collections.spent() - collected)) * 1000 / n
                result.boundaries += 1
                for spent in collections.taken[taken:]:
                    result.full_collections += 1
                    result.full_collection_ms = max(result.full_collection_ms, spent * 1000)
                assert writer.last_as_of == boundary
                journal, snapshots = store_bytes_written(stores, store_files(config_dir))
                return Measured(cpu_ms, watch, sum(views_written.values()), journal, snapshots)

            ordinary = await measured(boundary)
            result.boundary_bytes, result.boundary_view_bytes = ordinary.total, ordinary.views
            result.cpu_ms_per_meter = ordinary.cpu_ms
            result.stretch_ms, result.stretch_wall_ms = ordinary.watch.ms, ordinary.watch.wall_ms
            gc.collect()
            result.rss_mb = rss_mb() - rss_before
            # The first three boundaries of the next hour, where the coarse levels are refreshed.
            boundary += TEN_MINUTES
            while boundary != hour_start(boundary, TZ):
                await _fire(hass, boundary)
                boundary += TEN_MINUTES
            for _ in range(COARSE_PER_HOUR):
                coarse = await measured(boundary)
                result.hour_cpu_ms_per_meter = max(result.hour_cpu_ms_per_meter, coarse.cpu_ms)
                result.hour_stretch_ms = max(result.hour_stretch_ms, coarse.watch.ms)
                result.hour_stretch_wall_ms = max(result.hour_stretch_wall_ms, coarse.watch.wall_ms)
                result.hour_bytes += coarse.total
                result.hour_view_bytes += coarse.views
                boundary += TEN_MINUTES
            # A three-hour cycle of boundaries, every meter's files copied to the folder once.
            cycle_cpu = []
            for _ in range(DISK_COPY_SECONDS // TEN_MINUTES):
                step = await measured(boundary)
                cycle_cpu.append(step.cpu_ms)
                result.cycle_cpu_ms_per_meter = max(result.cycle_cpu_ms_per_meter, step.cpu_ms)
                result.cycle_stretch_ms = max(result.cycle_stretch_ms, step.watch.ms)
                result.cycle_stretch_wall_ms = max(result.cycle_stretch_wall_ms, step.watch.wall_ms)
                result.cycle_bytes += step.total
                result.cycle_view_bytes += step.views
                result.cycle_journal_bytes += step.journal
                result.cycle_daily_bytes += sum(
                    size for path, size in views_written.items() if path.endswith("/daily.json")
                )
                boundary += TEN_MINUTES
            result.cycle_median_cpu_ms_per_meter = statistics.median(cycle_cpu)
            boundary -= TEN_MINUTES
            daily_file = writer.file_bytes(f"{meter_id(0)}/daily.json")
            result.daily_mean_ratio = daily_mean_ratio(daily_file or b"")
            # What folding the journal into the snapshot writes, once a day for every meter
            # (at a boundary of each meter's own; here all at once, for the bytes only).
            for meter in entry.runtime_data.meters.values():
                meter._journal_lines = JOURNAL_LINES_PER_SNAPSHOT - 1
            boundary += TEN_MINUTES
            result.fold_bytes = (await measured(boundary)).snapshots
            # What a boundary leaves behind: the objects it and the sources' changes made that
            # are still there, against the sources' changes alone (the median of three each).
            with_boundary, sources_alone = [], []
            for _ in range(3):
                boundary += TEN_MINUTES
                before = oldest_generation()
                sources_change(boundary // TEN_MINUTES)
                await _fire(hass, boundary)
                with_boundary.append(survivors(before))
                before = oldest_generation()
                sources_change(boundary // TEN_MINUTES + 3)
                await hass.async_block_till_done()
                sources_alone.append(survivors(before))
            result.survivors = sorted(with_boundary)[1]
            result.source_survivors = sorted(sources_alone)[1]
            result.tracked = len(gc.get_objects())
            if n == SIZES[-1] and year:
                result.us_per_change = await _state_change_cost(hass)
            await hass.config_entries.async_unload(entry.entry_id)
            return result

        return await _with_hass(config_dir, body)


async def _state_change_cost(hass: Any) -> float:
    """µs per state change of a followed sensor minus that of a sensor nobody follows."""
    changes = 5000
    values = [f"{100 + (i * 37) % 2900}.0" for i in range(changes)]
    hass.states.async_set("sensor.nobody_follows", "100", W)

    async def run(entity_id: str) -> float:
        t0 = time.perf_counter()
        for i, value in enumerate(values):
            hass.states.async_set(entity_id, value, W)
            if i % 500 == 0:
                await hass.async_block_till_done()
        await hass.async_block_till_done()
        return (time.perf_counter() - t0) / changes * 1e6

    await run("sensor.nobody_follows")  # warm up
    base, followed = [], []
    for _ in range(5):
        # Side by side, each after a full collection: one of Python's full garbage collections
        # (a few hundred ms with this many objects) inside a run would swamp what it measures.
        gc.collect()
        base.append(await run("sensor.nobody_follows"))
        gc.collect()
        followed.append(await run("sensor.circuit_000"))
    return min(followed) - min(base)


async def one_by_one(n: int) -> float:
    """Seconds to add N meters one at a time to a running, fresh dataset."""
    from homeassistant.config_entries import ConfigSubentry

    with tempfile.TemporaryDirectory() as config_dir:

        async def body(hass: Any) -> float:
            for i in range(n):
                hass.states.async_set(f"sensor.circuit_{i:03d}", "600", W)
            entry = _entry(1)
            entry.add_to_hass(hass)
            t0 = time.perf_counter()
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            for i in range(1, n):
                data = subentry(i)
                hass.config_entries.async_add_subentry(
                    entry,
                    ConfigSubentry(
                        data=MappingProxyType(data["data"]),
                        subentry_id=data["subentry_id"],
                        subentry_type=data["subentry_type"],
                        title=data["title"],
                        unique_id=data["unique_id"],
                    ),
                )
                await hass.async_block_till_done()
            elapsed = time.perf_counter() - t0
            assert len(entry.runtime_data.meters) == n
            await hass.config_entries.async_unload(entry.entry_id)
            return elapsed

        return await _with_hass(config_dir, body)


def _ratio(value: float, goal: float) -> str:
    """Measured / goal: at most 1.00 meets a ceiling."""
    return f"{value / goal:.2f}"


def _of_linear(fresh: dict[int, Row]) -> str:
    """Setting up the most meters one by one against linear growth from each smaller size.

    From the second size up: one meter alone is mostly fixed cost. The larger the size it is
    measured from, the less a few milliseconds of noise in that size's time move the ratio.
    """
    if len(SIZES) < 3:
        return "— (too few sizes measured)"
    big = SIZES[-1]
    total = fresh[big].one_by_one_s or 0

    def of(small: int) -> str:
        seconds = max(fresh[small].one_by_one_s or 1e-9, 1e-9)
        return f"{total / seconds / (big / small):.2f}"

    first, *others = SIZES[1:-1]
    return f"{of(first)} of linear from {first}" + "".join(f", {of(n)} from {n}" for n in others)


def _rss_slope(year: dict[int, Row]) -> float | None:
    """MB of RSS per meter added from the fewest to the most meters (None: one size measured)."""
    if len(SIZES) < 2:
        return None
    small, big = year[SIZES[0]], year[SIZES[-1]]
    return (big.rss_mb - small.rss_mb) / (big.meters - small.meters)


def _kb(n: float) -> str:
    return f"{n / 1000:,.1f} KB" if n < 1e6 else f"{n / 1e6:,.2f} MB"


def table(rows: list[Row]) -> list[str]:
    year = {r.meters: r for r in rows if r.year}
    fresh = {r.meters: r for r in rows if not r.year}
    head = "| | " + " | ".join(f"{n} meters" for n in SIZES) + " | goal | measured / goal at 200 |"
    out = [head, "|---|" + "---:|" * len(SIZES) + "---|---:|"]

    def line(name: str, cells: list[str], goal: str, ratio: str) -> None:
        out.append(f"| {name} | " + " | ".join(cells) + f" | {goal} | {ratio} |")

    big = year[SIZES[-1]]
    line(
        "longest loop stretch at a boundary, year (before)",
        [
            f"{year[n].stretch_ms:.1f} ms [{year[n].stretch_wall_ms:.0f}] "
            f"({BEFORE['stretch_ms'].get(n, '—')})"
            for n in SIZES
        ],
        f"≤ {GOAL_STRETCH_MS:.0f} ms",
        _ratio(big.stretch_ms, GOAL_STRETCH_MS),
    )
    line(
        "longest loop stretch at a boundary, fresh",
        [f"{fresh[n].stretch_ms:.1f} ms [{fresh[n].stretch_wall_ms:.0f}]" for n in SIZES],
        f"≤ {GOAL_STRETCH_MS:.0f} ms",
        _ratio(fresh[SIZES[-1]].stretch_ms, GOAL_STRETCH_MS),
    )
    line(
        "longest loop stretch at a boundary refreshing a coarse level, year",
        [f"{year[n].hour_stretch_ms:.1f} ms [{year[n].hour_stretch_wall_ms:.0f}]" for n in SIZES],
        f"≤ {GOAL_STRETCH_MS:.0f} ms",
        _ratio(big.hour_stretch_ms, GOAL_STRETCH_MS),
    )
    line(
        "longest loop stretch in a three-hour cycle (every meter copied to disk), year",
        [f"{year[n].cycle_stretch_ms:.1f} ms [{year[n].cycle_stretch_wall_ms:.0f}]" for n in SIZES],
        f"≤ {GOAL_STRETCH_MS:.0f} ms",
        _ratio(big.cycle_stretch_ms, GOAL_STRETCH_MS),
    )
    line(
        "Python's full garbage collections in the measured boundaries, year: how many, longest",
        [
            f"{year[n].full_collections} in {year[n].boundaries}, "
            f"{year[n].full_collection_ms:.0f} ms"
            for n in SIZES
        ],
        "",
        "",
    )
    line(
        "objects a boundary leaves behind, year (by the sources' changes alone), of all",
        [
            f"{year[n].survivors:,} ({year[n].source_survivors:,}) of {year[n].tracked:,}"
            for n in SIZES
        ],
        "",
        f"a full collection every {big.boundaries_per_full_collection:.0f} boundaries",
    )
    line(
        "CPU per meter at a boundary, year",
        [f"{year[n].cpu_ms_per_meter:.2f} ms" for n in SIZES],
        f"≤ {GOAL_CPU_MS_PER_METER:.0f} ms",
        _ratio(big.cpu_ms_per_meter, GOAL_CPU_MS_PER_METER),
    )
    line(
        "CPU per meter at a boundary refreshing a coarse level, year",
        [f"{year[n].hour_cpu_ms_per_meter:.2f} ms" for n in SIZES],
        f"≤ {GOAL_CPU_MS_PER_METER:.0f} ms",
        _ratio(big.hour_cpu_ms_per_meter, GOAL_CPU_MS_PER_METER),
    )
    line(
        "CPU per meter at the worst boundary of a three-hour cycle, year",
        [f"{year[n].cycle_cpu_ms_per_meter:.2f} ms" for n in SIZES],
        f"≤ {GOAL_CPU_MS_PER_METER:.0f} ms",
        _ratio(big.cycle_cpu_ms_per_meter, GOAL_CPU_MS_PER_METER),
    )
    line(
        "CPU per meter at the median boundary of a three-hour cycle, year",
        [f"{year[n].cycle_median_cpu_ms_per_meter:.2f} ms" for n in SIZES],
        f"≤ {GOAL_CPU_MS_PER_METER:.0f} ms",
        _ratio(big.cycle_median_cpu_ms_per_meter, GOAL_CPU_MS_PER_METER),
    )
    line(
        "setting the meters up one by one, fresh (before)",
        [
            f"{fresh[n].one_by_one_s or 0:.2f} s ({BEFORE['one_by_one_s'].get(n, '—')})"
            for n in SIZES
        ],
        "linear in N",
        _of_linear(fresh),
    )
    line(
        "HA start with all meters, year (before)",
        [
            f"{year[n].start_s:.2f} s"
            + (f" ({BEFORE['start_s'][n]} s)" if n in BEFORE["start_s"] else "")
            for n in SIZES
        ],
        f"≤ {GOAL_START_S:.0f} s",
        _ratio(big.start_s, GOAL_START_S),
    )
    line(
        "HA start with all meters, fresh",
        [f"{fresh[n].start_s:.2f} s" for n in SIZES],
        f"≤ {GOAL_START_S:.0f} s",
        _ratio(fresh[SIZES[-1]].start_s, GOAL_START_S),
    )
    line(
        "longest loop stretch during HA start, year",
        [f"{year[n].start_stretch_ms:.1f} ms [{year[n].start_stretch_wall_ms:.0f}]" for n in SIZES],
        f"≤ {GOAL_START_STRETCH_MS:.0f} ms",
        _ratio(big.start_stretch_ms, GOAL_START_STRETCH_MS),
    )
    line(
        "bytes written per boundary, year (before)",
        [f"{_kb(year[n].boundary_bytes)} ({_kb(BEFORE['bytes'].get(n, 0))})" for n in SIZES],
        "",
        "",
    )
    line(
        "bytes written by the three boundaries refreshing a coarse level, year",
        [_kb(year[n].hour_bytes) for n in SIZES],
        "",
        "",
    )
    line(
        "bytes written by a three-hour cycle of boundaries, year",
        [_kb(year[n].cycle_bytes) for n in SIZES],
        "",
        "",
    )
    line(
        "bytes written per meter per day, year",
        [_kb(year[n].bytes_per_meter_day) for n in SIZES],
        f"≤ {_kb(GOAL_BYTES_PER_METER_DAY)}",
        _ratio(big.bytes_per_meter_day, GOAL_BYTES_PER_METER_DAY),
    )
    line(
        "of which the store (snapshot + journal), per meter per day, year",
        [_kb(year[n].store_bytes_per_meter_day) for n in SIZES],
        f"≤ {_kb(GOAL_BYTES_PER_METER_DAY)}",
        _ratio(big.store_bytes_per_meter_day, GOAL_BYTES_PER_METER_DAY),
    )
    slope = _rss_slope(year)
    line(
        "RSS growth, year (before)",
        [f"{year[n].rss_mb:.1f} MB ({BEFORE['rss_mb'].get(n, '—')} MB)" for n in SIZES],
        f"≤ {GOAL_MB_PER_METER} MB per meter",
        "— (one size measured)"
        if slope is None
        else f"{_ratio(slope, GOAL_MB_PER_METER)} ({slope:.2f} MB per added meter)",
    )
    line(
        "µs of PowerStats' share per state change, year",
        ["" if year[n].us_per_change is None else f"{year[n].us_per_change:.1f} µs" for n in SIZES],
        f"≤ {GOAL_US_PER_CHANGE:.0f} µs",
        _ratio(big.us_per_change or 0.0, GOAL_US_PER_CHANGE),
    )
    return out


def verdict(rows: list[Row]) -> list[str]:
    """Which goals the largest N with a year of history meets."""
    big = next(r for r in rows if r.year and r.meters == SIZES[-1])
    slope = _rss_slope({r.meters: r for r in rows if r.year})
    goals = {
        f"boundary stretch ≤ {GOAL_STRETCH_MS:.0f} ms": big.stretch_ms_worst <= GOAL_STRETCH_MS,
        f"boundary CPU ≤ {GOAL_CPU_MS_PER_METER:.0f} ms per meter": big.cpu_ms_per_meter
        <= GOAL_CPU_MS_PER_METER,
        f"CPU ≤ {GOAL_CPU_MS_PER_METER:.0f} ms per meter at a boundary refreshing a coarse level": (
            big.hour_cpu_ms_per_meter <= GOAL_CPU_MS_PER_METER
        ),
        f"CPU ≤ {GOAL_CPU_MS_PER_METER:.0f} ms per meter at every boundary of a three-hour cycle": (
            big.cycle_cpu_ms_per_meter <= GOAL_CPU_MS_PER_METER
        ),
        f"HA start ≤ {GOAL_START_S:.0f} s": big.start_s <= GOAL_START_S,
        f"stretch during start ≤ {GOAL_START_STRETCH_MS:.0f} ms": big.start_stretch_ms
        <= GOAL_START_STRETCH_MS,
        "≤ 1 MB written per meter per day (views + store)": big.bytes_per_meter_day
        <= GOAL_BYTES_PER_METER_DAY,
        "≤ 1 MB per meter per day by the store alone": big.store_bytes_per_meter_day
        <= GOAL_BYTES_PER_METER_DAY,
        # With one size measured there is no growth per added meter to judge.
        **(
            {}
            if slope is None
            else {f"≤ {GOAL_MB_PER_METER} MB RSS per meter": slope <= GOAL_MB_PER_METER}
        ),
        f"≤ {GOAL_US_PER_CHANGE:.0f} µs per state change": (big.us_per_change or 0)
        <= GOAL_US_PER_CHANGE,
    }
    met = [goal for goal, ok in goals.items() if ok]
    missed = [goal for goal, ok in goals.items() if not ok]
    return [
        f"At {SIZES[-1]} meters with a year of history, met: {'; '.join(met) or 'none'}. "
        f"Not met: {'; '.join(missed) or 'none'}. Stretches and CPU without Python's full "
        f"collections: {big.full_collections} fell in the {big.boundaries} measured "
        f"boundaries, the longest {big.full_collection_ms:.0f} ms.",
        "",
    ]


async def measure() -> list[Row]:
    rows = []
    for year in (True, False):
        for n in SIZES:
            row = await start_and_boundary(n, year)
            if not year:
                row.one_by_one_s = await one_by_one(n)
            rows.append(row)
            print(f"measured {n} meters, {'year' if year else 'fresh'}: {row}", file=sys.stderr)
    return rows


def main() -> int:
    sizes = os.environ.get("POWERSTATS_BENCH_SCALE_SIZES")
    if sizes:
        global SIZES
        SIZES = tuple(int(s) for s in sizes.split(","))
    rows = asyncio.run(measure())
    out = [
        "## Many meters: boundary, setup, start, writes, memory",
        "",
        "A real HA core (pytest-homeassistant-custom-component harness) with N power meters, "
        "each priced and with its source changing; *year* = each meter's store holds a year "
        "of days, 9 days of hours and 49 h of 10-minute buckets; *fresh* = no history. Bytes "
        "are PowerStats' own writes (view files, journal lines, snapshots). In "
        "brackets: the issue's measurement of the code before this design (HA 2025.4.4, this "
        "machine). A ratio at most 1.00 meets its goal. Measured "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}, load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores shared with other work.",
        "",
        *table(rows),
        "",
        "Stretches are the CPU time the event loop's thread spent between two wake-ups of a "
        "watcher asking for 1 ms; in square brackets the wall time, which on this shared "
        "machine also counts time the process had no core, and any garbage collection or "
        "executor thread holding the interpreter lock.",
        "",
        "Python's full garbage collections are counted apart: stretches and CPU are given "
        "without them, and their own row says how many fell in the measured boundaries and "
        "how long the longest took. One walks every object of the HA process (the number "
        "after *of*), so it holds the loop for the same time whichever code allocates when "
        "one is due; one is due when the objects that outlived two younger collections since "
        "the last reach a quarter of those it found. A boundary's part in that is what it "
        "leaves behind: the objects it made that are still there at the next, measured beside "
        "the sources' state changes alone (which the boundary's count includes). The ratio "
        "column says how many boundaries it takes for these alone to bring one on.",
        "",
        "A boundary renders each meter's daily.json and the manifest and appends a journal "
        "line; the first three boundaries of an hour also render its weekly, monthly and "
        "yearly file, one each (a boundary refreshing a coarse level: the worst of the "
        "three). The files are served from memory; each meter's are copied to the config "
        "folder once in three hours, the meters taking turns at the 18 boundaries of that "
        "span (so every boundary with 18 meters or more copies some), and the folder's "
        "manifest is rewritten with them. Each meter folds its journal into its snapshot once "
        "a day, at a boundary of its own (spread by its id). Bytes per meter per day are "
        "eight times what the measured cycle copied and appended to journals, with "
        "daily.json (which grows by a row a boundary from yesterday's 144) at its mean size "
        "over the day, plus one fold of every meter's journal.",
        "",
        *verdict(rows),
    ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
