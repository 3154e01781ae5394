"""The failure drill's invariants: pure checks of the files against what the drill did.

No processes and no clock reads: the drill hands in the files it collected (from HA's folder,
the fake GitHub and the agent) and its own record of the sensor's values and the kills, on
hass's clock; every check returns a verdict (held or violated, with a one-line detail).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.contract import ContractError, validate_bytes

TEN_MINUTES = 600
HOUR = 3600
WS_PER_KWH = 3_600_000.0
MANIFEST = "manifest.json"
# The files keep kWh to 4 decimals and coverage to 3 (a covered bucket shows at least 0.001).
KWH_STEP = 0.00005
COVERAGE_STEP = 0.0005
COVERAGE_FLOOR = 0.001
# The least a 10-minute bucket must differ by to count as a mismatch, beyond rounding.
FLOAT_SLACK = 1e-9

type Files = Mapping[str, bytes]
type Row = dict[str, Any]
type Value = float | None  # watts, or None while the sensor had no valid value


@dataclass(frozen=True)
class Verdict:
    """One invariant after the drill: held or violated, and what was seen."""

    name: str
    held: bool
    detail: str


@dataclass
class Record:
    """What the drill did to the meter, on hass's clock (Unix seconds).

    `kills` are the moments the drill sent kill -9 (as estimated from its own side), which may
    be up to `kill_margin` early. A kill within `save_grace` after a 10-minute boundary may
    also lose the bucket that just closed: its save may not have reached the disk yet.
    """

    meter_added: tuple[float, float] = (0.0, 0.0)  # the config flow's first and last moment
    values: list[tuple[float, Value]] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)
    kill_margin: float = 0.0
    save_grace: float = 0.0

    def timeline(self) -> list[tuple[float, Value]]:
        """The value in effect from each moment on, as the meter can have seen it.

        Nothing before the meter was added; nothing from a kill until the next value (states
        set through the REST API do not survive a restart). Kills are placed at their latest
        possible moment, so the timeline is an upper bound where a kill is involved.
        """
        begin = self.meter_added[0]
        events = sorted(
            [*self.values, *((k + self.kill_margin, None) for k in self.kills)],
            key=lambda e: e[0],
        )
        before = [v for t, v in events if t <= begin]
        return [(begin, before[-1] if before else None), *((t, v) for t, v in events if t > begin)]

    def uncertain(self) -> list[tuple[float, float]]:
        """Spans whose buckets get bounds instead of exact values: kills and the meter's start."""
        spans = [(k - self.save_grace, k + self.kill_margin) for k in self.kills]
        return [self.meter_added, *spans]


@dataclass(frozen=True)
class Step:
    """The drill's own integral of the values it sent, over one bucket."""

    covered: float
    ws: float
    min_w: float | None
    max_w: float | None

    @property
    def kwh(self) -> float:
        return self.ws / WS_PER_KWH


def integrate(timeline: Sequence[tuple[float, Value]], start: float, end: float) -> Step:
    """The step function's covered seconds, energy and extremes between `start` and `end`."""
    covered = ws = 0.0
    seen: list[float] = []
    for i, (t, value) in enumerate(timeline):
        following = timeline[i + 1][0] if i + 1 < len(timeline) else math.inf
        lo, hi = max(t, start), min(following, end)
        if value is None or hi <= lo:
            continue
        covered += hi - lo
        ws += value * (hi - lo)
        seen.append(value)
    return Step(covered, ws, min(seen) if seen else None, max(seen) if seen else None)


# ---- reading the files ----------------------------------------------------------------------


def level_paths(manifest: bytes) -> dict[str, str]:
    """Level path -> its sha256, as the manifest lists them."""
    return {
        entry["path"]: entry["sha256"]
        for meter in json.loads(manifest)["meters"]
        for entry in meter["files"].values()
    }


def rows_of(data: bytes) -> tuple[dict[str, Any], list[Row]]:
    """A level file's head and its rows as dicts by column name (readers look columns up)."""
    document = json.loads(data)
    names = document["columns"]
    return document, [dict(zip(names, row, strict=True)) for row in document["rows"]]


def as_of(data: bytes) -> float:
    """The boundary a level file holds data up to (its `generated`)."""
    return datetime.fromisoformat(json.loads(data)["generated"]).timestamp()


def _by_level(files: Files) -> dict[str, dict[str, bytes]]:
    """meter id -> level -> bytes."""
    meters: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        meter, _, name = path.partition("/")
        if name.endswith(".json"):
            meters.setdefault(meter, {})[name.removesuffix(".json")] = data
    return meters


# ---- the invariants -------------------------------------------------------------------------


def check_contract(sets: Mapping[str, Files], earlier: Sequence[str] = ()) -> Verdict:
    """Every file of every copy validates; `earlier` are failures seen during the drill."""
    problems = list(earlier)
    count = 0
    for where, files in sets.items():
        for path, data in sorted(files.items()):
            count += 1
            try:
                validate_bytes(data)
            except (ContractError, ValueError) as err:
                problems.append(f"{where} {path}: {err}")
        manifest = files.get(MANIFEST)
        if manifest is None:
            problems.append(f"{where}: no manifest.json")
            continue
        for path, digest in level_paths(manifest).items():
            if path not in files:
                problems.append(f"{where}: {path} listed but missing")
            elif hashlib.sha256(files[path]).hexdigest() != digest:
                problems.append(f"{where}: {path} does not match its manifest hash")
    return _verdict("every file valid (contract, manifest hashes)", problems, f"{count} files")


def check_rows(files: Files) -> Verdict:
    """Rows strictly increasing, no duplicate bucket, every bucket of the window present."""
    problems: list[str] = []
    rows_seen = 0
    for meter, levels in _by_level(files).items():
        for level, data in levels.items():
            document, rows = rows_of(data)
            tz = ZoneInfo(document["timezone"])
            starts = [row["start"] for row in rows]
            rows_seen += len(starts)
            if len(set(starts)) != len(starts):
                problems.append(f"{meter}/{level}: a bucket appears twice")
            for before, after in itertools.pairwise(starts):
                want = _bucket_seconds(document["bucket"], before, tz)
                if after - before != want:
                    problems.append(f"{meter}/{level}: {before} is followed by {after}")
                    break
    return _verdict("rows strictly increasing, no duplicate or missing bucket", problems,
                    f"{rows_seen} rows")  # fmt: skip


def _bucket_seconds(bucket: str, start: int, tz: ZoneInfo) -> int:
    if bucket == "10min":
        return TEN_MINUTES
    if bucket == "hour":
        return HOUR
    return _day_end(start, tz) - start


# An hour that had not closed when a day file was rendered: no energy, no coverage.
_NOTHING: Row = {"kwh": None, "coverage": 0, "min_w": None, "max_w": None}


def _day_end(start: int, tz: ZoneInfo) -> int:
    day = datetime.fromtimestamp(start, tz).date() + timedelta(days=1)
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def check_rollups(files: Files) -> Verdict:
    """10-minute buckets sum to their hours, hours to their days (where both windows hold them).

    Each side is rounded in its file, so the sums may differ by half a last digit per row. A
    coarse level holds what had closed by its `generated` (an hour's start, up to an hour
    behind the daily file): an hour is compared once it had closed by then, a day with its
    hours closed by then.
    """
    problems: list[str] = []
    hours_checked = days_checked = 0
    for meter, levels in _by_level(files).items():
        document, weekly = rows_of(levels["weekly"])
        tz = ZoneInfo(document["timezone"])
        daily = {row["start"]: row for row in rows_of(levels["daily"])[1]}
        hours = {row["start"]: row for row in weekly}
        hours_by = as_of(levels["weekly"])
        for hour in weekly:
            children = [daily.get(hour["start"] + i * TEN_MINUTES) for i in range(6)]
            if hour["start"] + HOUR <= hours_by and all(c is not None for c in children):
                hours_checked += 1
                problems += _compare(f"{meter} hour {hour['start']}", hour, children, HOUR)
        _, monthly = rows_of(levels["monthly"])
        days_by = as_of(levels["monthly"])
        for day in monthly:
            end = _day_end(day["start"], tz)
            # The hours still open at `days_by` are in the day as nothing (coverage 0).
            children = [
                hours.get(s) if s + HOUR <= days_by else _NOTHING
                for s in range(day["start"], end, HOUR)
            ]
            if days_by <= hours_by and all(c is not None for c in children):
                days_checked += 1
                problems += _compare(
                    f"{meter} day {day['start']}", day, children, end - day["start"]
                )
        yearly_doc = levels["yearly"]
        yearly = {row["start"]: row for row in rows_of(yearly_doc)[1]}
        both_by = min(days_by, as_of(yearly_doc))
        for day in monthly:
            # Refreshed at different boundaries, the two agree on the days closed by both.
            alike = day["start"] in yearly and (
                days_by == as_of(yearly_doc) or _day_end(day["start"], tz) <= both_by
            )
            if alike and yearly[day["start"]] != day:
                problems.append(f"{meter} day {day['start']}: monthly and yearly rows differ")
    if hours_checked == 0:
        problems.append("no hour had all its 10-minute buckets in the daily file")
    detail = f"{hours_checked} hours and {days_checked} days against their parts"
    return _verdict("energy totals consistent across levels", problems, detail)


def _compare(what: str, parent: Row, children: Sequence[Row | None], seconds: int) -> list[str]:
    parts = [c for c in children if c is not None]
    kwh = math.fsum(c["kwh"] or 0 for c in parts)
    problems = []
    if abs((parent["kwh"] or 0) - kwh) > KWH_STEP * (len(parts) + 1) + FLOAT_SLACK:
        problems.append(f"{what}: {parent['kwh']} kWh, its parts sum to {kwh:.5f}")
    # The parts tile the parent (6 x 10 minutes in an hour, 23-25 hours in a day); each part's
    # coverage is rounded (and floored at 0.001), the parent's rounded once more.
    coverage = math.fsum(c["coverage"] for c in parts) / len(parts)
    if abs(parent["coverage"] - coverage) > 2 * COVERAGE_STEP + COVERAGE_FLOOR + FLOAT_SLACK:
        problems.append(f"{what}: coverage {parent['coverage']}, its parts {coverage:.4f}")
    for name, pick in (("max_w", max), ("min_w", min)):
        values = [c[name] for c in parts if c[name] is not None]
        if (pick(values) if values else None) != parent[name]:
            problems.append(f"{what}: {name} {parent[name]}, its parts {values}")
    return problems


def check_buckets(daily: bytes, record: Record) -> Verdict:
    """Every closed 10-minute bucket against the drill's own integral of what it sent.

    Away from kills and the meter's start a bucket must hold exactly the energy and coverage
    of the values sent (nothing lost, nothing invented). A bucket touched by a kill may have
    lost time, but never holds more than was sent, nor more than max power x covered time.
    """
    timeline = record.timeline()
    uncertain = record.uncertain()
    until = as_of(daily)
    problems: list[str] = []
    exact = full = bounded = 0
    for row in rows_of(daily)[1]:
        start, end = row["start"], row["start"] + TEN_MINUTES
        if end > until:
            continue  # the open bucket: not closed yet, shown empty
        sent = integrate(timeline, start, end)
        kwh, coverage = row["kwh"] or 0.0, row["coverage"]
        if any(start < b and a < end for a, b in uncertain):
            bounded += 1
            problems += _within_bounds(start, kwh, coverage, sent)
            continue
        if sent.covered > 0:
            exact += 1
            full += sent.covered >= TEN_MINUTES - 1
        problems += _exact(start, row, sent)
    if exact == 0:
        problems.append("no bucket away from kills held data: the run was too short to judge")
    detail = f"{exact} buckets exact ({full} fully covered), {bounded} touched by a kill or the "
    detail += "meter's start within bounds"
    return _verdict("no lost or invented bucket beyond the crash window", problems, detail)


def _exact(start: int, row: Row, sent: Step) -> list[str]:
    if sent.covered <= 0:
        if row["kwh"] is not None or row["coverage"] != 0:
            return [f"bucket {start}: {row['kwh']} kWh where nothing was sent"]
        return []
    problems = []
    coverage = sent.covered / TEN_MINUTES
    if abs(row["coverage"] - coverage) > COVERAGE_STEP + COVERAGE_FLOOR + FLOAT_SLACK:
        problems.append(f"bucket {start}: coverage {row['coverage']}, sent {coverage:.4f}")
    if row["kwh"] is None or abs(row["kwh"] - sent.kwh) > KWH_STEP + FLOAT_SLACK:
        problems.append(f"bucket {start}: {row['kwh']} kWh, sent {sent.kwh:.5f}")
    for name, value in (("min_w", sent.min_w), ("max_w", sent.max_w)):
        if value is None or row[name] is None or abs(row[name] - value) > 0.05 + FLOAT_SLACK:
            problems.append(f"bucket {start}: {name} {row[name]}, sent {value}")
    return problems


def _within_bounds(start: int, kwh: float, coverage: float, sent: Step) -> list[str]:
    problems = []
    if kwh > sent.kwh + KWH_STEP + FLOAT_SLACK:
        problems.append(f"bucket {start}: {kwh} kWh, more than the {sent.kwh:.5f} sent")
    if sent.max_w is not None:
        ceiling = sent.max_w * (coverage + COVERAGE_STEP) * TEN_MINUTES / WS_PER_KWH
        if kwh > ceiling + KWH_STEP + FLOAT_SLACK:
            problems.append(f"bucket {start}: {kwh} kWh, more than max power x covered time")
    if coverage > sent.covered / TEN_MINUTES + COVERAGE_STEP + COVERAGE_FLOOR + FLOAT_SLACK:
        problems.append(f"bucket {start}: coverage {coverage}, more than time with a value")
    return problems


def check_same(name: str, reference: Files, copy: Files, what: str) -> Verdict:
    """`copy` holds every file of `reference` byte for byte."""
    problems = [
        f"{path} differs" if path in copy else f"{path} missing"
        for path, data in sorted(reference.items())
        if copy.get(path) != data
    ]
    return _verdict(name, problems, f"{len(reference)} files {what}")


def check_published(local: Files, published: Files) -> Verdict:
    """Each published level file equals the local one; the published manifest's hashes match."""
    problems = []
    levels = level_paths(local[MANIFEST])
    for path in levels:
        if published.get(path) != local[path]:
            problems.append(f"{path} differs from the local file")
    listed = level_paths(published[MANIFEST]) if MANIFEST in published else {}
    if listed != levels:
        problems.append("the published manifest's hashes differ from the local files'")
    return _verdict("the final publish equals the local files", problems,
                    f"{len(levels)} level files and the manifest")  # fmt: skip


def check_served(probes: Sequence[tuple[str, int, bool]], kills: int) -> Verdict:
    """Every probe of the agent while hass was down got a 200 and a valid file."""
    problems = [f"{path}: HTTP {status}" for path, status, ok in probes if status != 200 or not ok]
    if kills and not probes:
        problems.append("hass was killed but the agent was never probed while it was down")
    return _verdict("the agent kept serving while hass was down", problems,
                    f"{len(probes)} requests during {kills} outages")  # fmt: skip


_POWERSTATS_ERROR = re.compile(r"\b(ERROR|CRITICAL) \([^)]*\) \[custom_components\.powerstats")


def check_logs(texts: Mapping[str, str], secrets: Iterable[str]) -> Verdict:
    """PowerStats logged no error (nor blocked HA's event loop); no secret in any log or file."""
    problems = []
    for where, text in texts.items():
        errors = [
            line
            for line in text.splitlines()
            if _POWERSTATS_ERROR.search(line)
            or ("Detected blocking call" in line and "powerstats" in line)
        ]
        if errors:
            problems.append(f"{where}: {len(errors)} PowerStats error(s), first: {errors[0][:160]}")
        for secret in secrets:
            if secret and secret in text:
                problems.append(f"{where}: holds a token")
    return _verdict("no PowerStats error logged, no token leaked", problems,
                    f"{len(texts)} logs and files")  # fmt: skip


def _verdict(name: str, problems: Sequence[str], detail: str) -> Verdict:
    if problems:
        more = f" (+{len(problems) - 2} more)" if len(problems) > 2 else ""
        return Verdict(name, False, "; ".join(problems[:2]) + more)
    return Verdict(name, True, detail)
