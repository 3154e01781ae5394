"""Restore planning: a published folder (manifest.json + level files) read back into buckets.

Pure: no Home Assistant import and no clock reads; fetching the bytes is the caller's job. A
published folder comes from outside (GitHub Pages, a raw repository URL, the board's mirror, a
folder someone copied), so all of it is checked before a single bucket is handed over: the JSON
Schema's rules (schemas/powerstats-1.schema.json, checked here by hand since jsonschema is no
runtime dependency), the rules of docs/data-format.md, size and sha256 against the manifest, the
format major, every bucket on the local time grid, sane numbers and bounded sizes. A folder with
anything wrong is refused whole.

The buckets go to `History.merge_external`, which lands a bucket only where nothing is stored, so
a restore never overwrites a bucket tracked live and restoring twice adds nothing the second time.
Published files are rounded for size; a bucket is rebuilt so that rendering it again gives the
same row, its mean power within that rounding (see `_covered`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Final

from .accounting import MAX_POWER_W, WS_PER_KWH, Bucket
from .rollup import History
from .timegrid import bucket_slot
from .views import BUCKET_OF_LEVEL, FORMAT, LEVELS, Level, coverage_cell, level_path

# Bounds on what a published folder may hold. The writer's files are far smaller (a yearly file
# of one meter is about 30 kB, the manifest about 1 kB a meter); the bounds keep a hostile or
# broken source from making HA read or hold more than a few megabytes.
MAX_MANIFEST_BYTES: Final = 1024 * 1024
MAX_FILE_BYTES: Final = 4 * 1024 * 1024
MAX_METERS: Final = 256
# About twice each level's window (docs/data-format.md), so a writer with somewhat longer windows
# still restores, while a file of a million rows does not.
MAX_ROWS: Final[dict[Level, int]] = {"daily": 600, "weekly": 400, "monthly": 62, "yearly": 800}
# No PowerStats bucket starts before 2000; no meter draws more than MAX_POWER_W, nor costs more
# than a billion a row.
EARLIEST_START: Final = 946_684_800
MAX_COST: Final = 1e9

_FORMAT_RE: Final = re.compile(r"powerstats/(\d{1,9})")
_METER_ID_RE: Final = re.compile(r"[a-z0-9_-]{1,32}")
_SHA256_RE: Final = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)", re.ASCII
)
_ENTITY_ID_RE: Final = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+", re.ASCII)
_COLUMN_RE: Final = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
_BASE_COLUMNS: Final = ("start", "kwh", "mean_w", "min_w", "max_w", "coverage")
# The files' rounding (docs/data-format.md): half a unit of the last written digit.
_HALF_COVERAGE: Final = 0.0005
_HALF_WATT: Final = 0.05


class RestoreError(ValueError):
    """A published folder was refused; `key` names the translation, `placeholders` fill it."""

    def __init__(self, key: str, message: str, **placeholders: str) -> None:
        super().__init__(message)
        self.key = key
        self.placeholders = placeholders


def _unreadable(path: str, reason: str) -> RestoreError:
    return RestoreError(
        "restore_unreadable",
        f"{path} is not valid PowerStats data: {reason}; check that the source is a folder "
        "PowerStats published (the one holding manifest.json)",
        path=path,
        reason=reason,
    )


# -- the manifest -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishedFile:
    """One level file as the manifest lists it: where it is and what its bytes must be."""

    meter_id: str
    level: Level
    path: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class PublishedMeter:
    """One meter as the manifest lists it."""

    id: str
    name: str
    timezone: str
    # The currency of its cost column; None when it was not priced.
    currency: str | None
    files: tuple[PublishedFile, ...]


@dataclass(frozen=True, slots=True)
class PublishedManifest:
    """What a published folder holds, checked."""

    generated: str
    meters: tuple[PublishedMeter, ...]


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("an object names the same key twice")
    return dict(pairs)


def _parse_json(path: str, data: bytes) -> Any:
    try:
        return json.loads(
            data.decode("utf-8"),
            parse_constant=_refuse_constant,
            object_pairs_hook=_refuse_duplicates,
        )
    except UnicodeDecodeError:
        raise _unreadable(path, "it is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise _unreadable(path, f"invalid JSON at line {err.lineno}") from None
    except RecursionError:
        raise _unreadable(path, "the JSON is nested too deeply") from None
    except ValueError as err:
        raise _unreadable(path, str(err)) from None


def _check_format(path: str, value: Any) -> None:
    match = _FORMAT_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _unreadable(path, f"its format is {value!r}, not powerstats/<major>")
    if f"powerstats/{int(match.group(1))}" != FORMAT:
        raise RestoreError(
            "restore_format_major",
            f"{path} is powerstats/{int(match.group(1))}; this PowerStats understands {FORMAT} "
            "— update PowerStats, then restore",
            path=path,
            major=str(int(match.group(1))),
        )


def _object(path: str, value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _unreadable(path, f"{what} is not an object")
    return value


def _string(
    path: str, value: Any, what: str, *, pattern: re.Pattern[str] | None = None, longest: int = 256
) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        raise _unreadable(path, f"{what} is missing or not a string of 1 to {longest} characters")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise _unreadable(path, f"{what} {value!r} is malformed")
    return value


def _timestamp(path: str, value: Any, what: str) -> float:
    """A contract timestamp as Unix seconds."""
    text = _string(path, value, what, pattern=_TIMESTAMP_RE, longest=40)
    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError):
        raise _unreadable(path, f"{what} {text!r} is not a valid time") from None


def _file_entry(meter_id: str, level: str, raw: Any) -> PublishedFile:
    where = f"manifest.json (meter {meter_id}, {level})"
    if level not in LEVELS:
        raise _unreadable(where, f"{level!r} is not a level")
    entry = _object(where, raw, "the file entry")
    path = _string(where, entry.get("path"), "path", longest=64)
    # Only the contract's own layout: a manifest must not send the reader anywhere else.
    expected = level_path(meter_id, level)
    if path != expected:
        raise _unreadable(where, f"the path {path!r} is not {expected!r}")
    sha = _string(where, entry.get("sha256"), "sha256", pattern=_SHA256_RE, longest=64)
    size = entry.get("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _unreadable(where, "bytes is not a whole number")
    _timestamp(where, entry.get("updated"), "updated")
    return PublishedFile(meter_id, level, path, sha, size)


def _optional_kind(where: str, holder: Mapping[str, Any]) -> None:
    if "kind" in holder and holder["kind"] not in ("power", "energy"):
        raise _unreadable(where, "kind is neither power nor energy")


def _optional_currency(where: str, holder: Mapping[str, Any]) -> str | None:
    if "currency" not in holder:
        return None
    return _string(where, holder["currency"], "currency", longest=8)


def _meter_entry(index: int, raw: Any) -> PublishedMeter:
    where = f"manifest.json (meter #{index + 1})"
    meter = _object(where, raw, "the meter entry")
    meter_id = _string(where, meter.get("id"), "id", pattern=_METER_ID_RE, longest=32)
    name = _string(where, meter.get("name"), "name", longest=100)
    _string(where, meter.get("entity_id"), "entity_id", pattern=_ENTITY_ID_RE)
    timezone = _string(where, meter.get("timezone"), "timezone", longest=64)
    _optional_kind(where, meter)
    currency = _optional_currency(where, meter)
    files = _object(where, meter.get("files"), "files")
    return PublishedMeter(
        id=meter_id,
        name=name,
        timezone=timezone,
        currency=currency,
        files=tuple(_file_entry(meter_id, level, entry) for level, entry in files.items()),
    )


def read_manifest(data: bytes) -> PublishedManifest:
    """Check a published manifest.json whole; raises `RestoreError` on anything wrong."""
    path = "manifest.json"
    if len(data) > MAX_MANIFEST_BYTES:
        raise _too_large(path, MAX_MANIFEST_BYTES)
    body = _object(path, _parse_json(path, data), "the document")
    _check_format(path, body.get("format"))
    if "level" in body:
        raise _unreadable(path, "it is a level file, not a manifest")
    generated = _string(path, body.get("generated"), "generated", longest=40)
    _timestamp(path, generated, "generated")
    if not isinstance(body.get("maintenance"), bool):
        raise _unreadable(path, "maintenance is not true or false")
    refresh = body.get("refresh_seconds", 1)
    if not isinstance(refresh, int) or isinstance(refresh, bool) or refresh < 1:
        raise _unreadable(path, "refresh_seconds is not a positive whole number")
    raw_meters = body.get("meters")
    if not isinstance(raw_meters, list):
        raise _unreadable(path, "meters is not a list")
    if len(raw_meters) > MAX_METERS:
        raise _unreadable(path, f"it lists more than {MAX_METERS} meters")
    meters = tuple(_meter_entry(i, raw) for i, raw in enumerate(raw_meters))
    ids = [m.id for m in meters]
    if len(set(ids)) != len(ids):
        raise _unreadable(path, "two meters share an id")
    return PublishedManifest(generated=generated, meters=meters)


def _too_large(path: str, limit: int) -> RestoreError:
    return RestoreError(
        "restore_too_large",
        f"{path} is larger than {limit // 1024} kB, more than PowerStats ever publishes; check "
        "the source",
        path=path,
        limit=str(limit // 1024),
    )


# -- choosing what to restore ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalMeter:
    """A meter of this Home Assistant that buckets may be restored into."""

    id: str
    tz: tzinfo
    timezone: str
    # Start of the 10-minute bucket being measured now: live tracking owns it and all after.
    live_from: int
    # Home Assistant's currency: what the costs of this meter are counted in.
    currency: str


@dataclass(frozen=True, slots=True)
class Selection:
    """Which published meters are restored (each into the local meter of the same id)."""

    meters: tuple[PublishedMeter, ...]
    # Published meters without a local meter of the same id, left alone.
    unmatched: tuple[str, ...]

    @property
    def files(self) -> tuple[PublishedFile, ...]:
        """Every level file to fetch, with the size the manifest promises."""
        return tuple(f for m in self.meters for f in m.files)


def select(
    manifest: PublishedManifest, local_ids: Collection[str], wanted: Sequence[str] | None = None
) -> Selection:
    """The published meters to restore: `wanted` ones, or every one with a local meter."""
    published = {m.id for m in manifest.meters}
    if wanted is not None:
        for meter_id in wanted:
            if meter_id not in published:
                raise RestoreError(
                    "restore_meter_not_published",
                    f"The source publishes no meter {meter_id!r}; it publishes "
                    f"{', '.join(sorted(published)) or 'none'}",
                    meter=meter_id,
                    published=", ".join(sorted(published)),
                )
            if meter_id not in local_ids:
                raise RestoreError(
                    "restore_meter_not_here",
                    f"There is no meter {meter_id!r} here; add it (with the same meter id) "
                    "before restoring it",
                    meter=meter_id,
                )
    chosen = set(wanted) if wanted is not None else published & set(local_ids)
    if not chosen:
        raise RestoreError(
            "restore_no_common_meter",
            "None of the published meters has a meter here with the same id "
            f"({', '.join(sorted(published)) or 'none published'}); add them first",
            published=", ".join(sorted(published)),
        )
    return Selection(
        meters=tuple(m for m in manifest.meters if m.id in chosen),
        unmatched=tuple(sorted(published - set(local_ids))),
    )


def check_bytes(file: PublishedFile, data: bytes) -> None:
    """Refuse bytes that are not exactly what the manifest lists (size and sha256)."""
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(file.path, MAX_FILE_BYTES)
    if len(data) != file.size or hashlib.sha256(data).hexdigest() != file.sha256:
        raise RestoreError(
            "restore_checksum",
            f"{file.path} does not match its size and sha256 in manifest.json; the source may "
            "be publishing right now — try again in a minute",
            path=file.path,
        )


# -- level files ----------------------------------------------------------------------------


def _number(path: str, number: int, name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _unreadable(path, f"row {number}, column {name} is not a number")
    result = float(value)
    if not math.isfinite(result):
        raise _unreadable(path, f"row {number}, column {name} is not finite")
    return result


def _columns(path: str, raw: Any) -> dict[str, int]:
    if not isinstance(raw, list) or len(raw) < len(_BASE_COLUMNS) or len(raw) > 64:
        raise _unreadable(path, "columns is not a list of 6 to 64 names")
    names = [_string(path, c, "a column name", pattern=_COLUMN_RE, longest=64) for c in raw]
    if tuple(names[: len(_BASE_COLUMNS)]) != _BASE_COLUMNS:
        raise _unreadable(path, f"columns do not start {', '.join(_BASE_COLUMNS)}")
    if len(set(names)) != len(names):
        raise _unreadable(path, "a column is named twice")
    return {name: i for i, name in enumerate(names)}


def _covered(kwh: float, mean_w: float | None, coverage: float, seconds: int) -> float:
    """Covered seconds that render back as the file's `coverage` and `mean_w`.

    The file holds coverage to 3 decimals and mean power to 1, both rounded from the covered
    time. Of the covered times consistent with the coverage, the one that gives the written
    mean exactly is taken; then the one nearest `coverage * seconds` that gives a mean within
    rounding; failing both (a bucket of a few watt-seconds), `coverage * seconds`.
    """
    nominal = coverage * seconds
    # The files never write less than 0.001 for a bucket with data, so 0.001 means "up to".
    low = (coverage - _HALF_COVERAGE if coverage > 0.001 else 1e-9) * seconds
    high = min(coverage + _HALF_COVERAGE, 1.0) * seconds
    if mean_w is None or mean_w == 0 or kwh == 0 or (kwh > 0) != (mean_w > 0):
        return nominal
    joules = abs(kwh) * WS_PER_KWH
    watts = abs(mean_w)
    exact = joules / watts
    lowest = joules / (watts + _HALF_WATT)
    highest = joules / (watts - _HALF_WATT) if watts > _HALF_WATT else math.inf
    begin, end = max(low, lowest), min(high, highest)
    # A time on the edge of the coverage's range may round either way: each is checked as
    # the files would write it.
    for covered in (exact, min(max(nominal, begin), end)):
        if begin <= covered <= end and coverage_cell(covered, seconds) == coverage:
            return covered
    return nominal


@dataclass(frozen=True, slots=True)
class LevelFile:
    """The buckets of one checked level file."""

    level: Level
    # Rows with data (coverage above 0), as buckets; rows without data are gaps and stay gaps.
    buckets: tuple[Bucket, ...]


def read_level(file: PublishedFile, data: bytes, meter: PublishedMeter, tz: tzinfo) -> LevelFile:
    """Check one level file whole and turn its rows with data into buckets."""
    check_bytes(file, data)
    path = file.path
    doc = _object(path, _parse_json(path, data), "the document")
    _check_format(path, doc.get("format"))
    if doc.get("level") != file.level:
        raise _unreadable(path, f"it holds level {doc.get('level')!r}, not {file.level}")
    bucket = BUCKET_OF_LEVEL[file.level]
    if doc.get("bucket") != bucket:
        raise _unreadable(path, f"its bucket {doc.get('bucket')!r} is not {bucket}")
    head = _object(path, doc.get("meter"), "meter")
    if head.get("id") != meter.id:
        raise _unreadable(path, f"it belongs to meter {head.get('id')!r}, not {meter.id}")
    _string(path, head.get("name"), "meter name", longest=100)
    if not isinstance(head.get("entity_id"), str):
        raise _unreadable(path, "meter entity_id is not a string")
    _optional_kind(path, head)
    if _optional_currency(path, doc) != meter.currency:
        raise _unreadable(path, f"its currency {doc.get('currency')!r} is not the manifest's")
    if doc.get("timezone") != meter.timezone:
        raise _unreadable(path, f"its time zone {doc.get('timezone')!r} is not the manifest's")
    generated = _timestamp(path, doc.get("generated"), "generated")
    col = _columns(path, doc.get("columns"))
    raw_rows = doc.get("rows")
    if not isinstance(raw_rows, list):
        raise _unreadable(path, "rows is not a list")
    if len(raw_rows) > MAX_ROWS[file.level]:
        raise _unreadable(path, f"it has more than {MAX_ROWS[file.level]} rows")
    buckets: list[Bucket] = []
    expected_start: int | None = None
    for number, raw in enumerate(raw_rows, start=1):
        row = _row(path, number, raw, col)
        start = row["start"]
        # Checked first: a time far outside the calendar has no local date to align to.
        if not EARLIEST_START <= start <= generated:
            raise _unreadable(path, f"row {number} starts before 2000 or after the file was made")
        begin, seconds = bucket_slot(bucket, start, tz)
        if expected_start is not None and start != expected_start:
            raise _unreadable(
                path, f"row {number} starts at {start}, not at the next {bucket} ({expected_start})"
            )
        if start != begin:
            raise _unreadable(path, f"row {number} ({start}) is not the start of a local {bucket}")
        expected_start = start + seconds
        made = bucket_from_row(path, number, row, start, seconds)
        if made is not None:
            buckets.append(made)
    return LevelFile(level=file.level, buckets=tuple(buckets))


def _row(path: str, number: int, raw: Any, col: Mapping[str, int]) -> dict[str, Any]:
    if not isinstance(raw, list) or len(raw) != len(col):
        raise _unreadable(path, f"row {number} does not have one cell per column")
    start = raw[col["start"]]
    if not isinstance(start, int) or isinstance(start, bool):
        raise _unreadable(path, f"row {number}: start is not a whole number of seconds")
    values = {name: _number(path, number, name, raw[i]) for name, i in col.items() if i}
    return {"start": start, **values}


def bucket_from_row(
    path: str, number: int, row: Mapping[str, Any], start: int, seconds: int
) -> Bucket | None:
    """The bucket of one checked row (None for a row without data); refuses insane numbers."""
    coverage = row["coverage"]
    measured = [row["kwh"], row["mean_w"], row["min_w"], row["max_w"]]
    if coverage is None or not 0 <= coverage <= 1:
        raise _unreadable(path, f"row {number} has a coverage outside 0..1")
    if coverage == 0:
        if any(v is not None for v in measured) or row.get("cost") is not None:
            raise _unreadable(path, f"row {number} has no coverage but has measurements")
        return None
    kwh, mean_w, min_w, max_w = measured
    if kwh is None:
        raise _unreadable(path, f"row {number} has coverage but no energy")
    if (min_w is None) != (max_w is None) or (
        min_w is not None and max_w is not None and min_w > max_w
    ):
        raise _unreadable(path, f"row {number}: min_w and max_w must both be given, min <= max")
    if (
        any(v is not None and abs(v) > MAX_POWER_W for v in (mean_w, min_w, max_w))
        or abs(kwh) > MAX_POWER_W * seconds / WS_PER_KWH
    ):
        raise _unreadable(path, f"row {number} holds more power than any meter measures")
    cost = row.get("cost")
    if cost is not None and abs(cost) > MAX_COST:
        raise _unreadable(path, f"row {number} holds an impossible cost")
    share = row.get("backfill")
    if share is not None and not 0 <= share <= 1:
        raise _unreadable(path, f"row {number} has a backfill share outside 0..1")
    covered = _covered(kwh, mean_w, coverage, seconds)
    return Bucket(
        start=start,
        seconds=seconds,
        kwh=kwh,
        covered=covered,
        min_w=min_w,
        max_w=max_w,
        cost=cost,
        backfill=0.0 if share is None else share * covered,
    )


# -- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LevelRestore:
    """What one level file offers a meter: its buckets on the local grid, before live time."""

    level: Level
    rows: int
    buckets: tuple[Bucket, ...]


@dataclass(frozen=True, slots=True)
class MeterRestore:
    """Everything to restore into one meter, level by level."""

    meter_id: str
    levels: tuple[LevelRestore, ...]

    def _of(self, *levels: Level) -> tuple[Bucket, ...]:
        # Monthly and yearly both hold days; the file listed last (yearly) fills only days the
        # earlier one (monthly) lacks, and both come from the same store.
        seen: dict[int, Bucket] = {}
        for part in self.levels:
            if part.level in levels:
                for b in part.buckets:
                    seen.setdefault(b.start, b)
        return tuple(b for _, b in sorted(seen.items()))

    @property
    def ten_minutes(self) -> tuple[Bucket, ...]:
        """10-minute buckets (from daily.json)."""
        return self._of("daily")

    @property
    def hours(self) -> tuple[Bucket, ...]:
        """Hour buckets (from weekly.json)."""
        return self._of("weekly")

    @property
    def days(self) -> tuple[Bucket, ...]:
        """Day buckets (from monthly.json and yearly.json)."""
        return self._of("monthly", "yearly")


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """What a published folder offers each selected meter; every file in it was checked."""

    meters: tuple[MeterRestore, ...]
    unmatched: tuple[str, ...]


def _offered(level: LevelFile, live_from: int) -> tuple[Bucket, ...]:
    """The buckets of a file that a restore may hand over: those that ended before live time.

    Live tracking owns the bucket being measured and every period still open around it (its
    hour, its day), so buckets reaching past `live_from` are left to it.
    """
    return tuple(b for b in level.buckets if b.start + b.seconds <= live_from)


def plan(
    selection: Selection, local: Mapping[str, LocalMeter], files: Mapping[str, bytes]
) -> RestorePlan:
    """Check every selected level file and lay out the buckets each local meter is offered.

    `files` maps each path of `selection.files` to the bytes fetched; raises `RestoreError` for
    the first thing wrong, before anything is offered.
    """
    meters: list[MeterRestore] = []
    for published in selection.meters:
        target = local[published.id]
        if published.timezone != target.timezone:
            raise RestoreError(
                "restore_wrong_timezone",
                f"The published meter {published.id} follows time zone {published.timezone}, "
                f"this Home Assistant follows {target.timezone}; set the same time zone first",
                meter=published.id,
                file_timezone=published.timezone,
                timezone=target.timezone,
            )
        if published.currency is not None and published.currency != target.currency:
            # Costs counted in another currency would be summed with these as if they were one.
            raise RestoreError(
                "restore_wrong_currency",
                f"The published meter {published.id} counts its cost in {published.currency}, "
                f"this Home Assistant in {target.currency}; set the same currency first",
                meter=published.id,
                file_currency=published.currency,
                currency=target.currency,
            )
        levels: list[LevelRestore] = []
        for file in sorted(published.files, key=lambda f: LEVELS.index(f.level)):
            data = files.get(file.path)
            if data is None:
                raise _unreadable(file.path, "it could not be read")
            level = read_level(file, data, published, target.tz)
            levels.append(
                LevelRestore(
                    level=file.level,
                    rows=len(level.buckets),
                    buckets=_offered(level, target.live_from),
                )
            )
        meters.append(MeterRestore(published.id, tuple(levels)))
    return RestorePlan(meters=tuple(meters), unmatched=selection.unmatched)


# -- applying -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LevelOutcome:
    """What a restore did for one level: rows with data read, and buckets the store gained."""

    level: Level
    rows: int
    added: int


def apply(history: History, meter: MeterRestore, now: float) -> tuple[LevelOutcome, ...]:
    """Merge the offered buckets into gaps of `history` and count what each level gained."""

    def stored() -> dict[Level, set[int]]:
        days = set(history.days)
        return {
            "daily": set(history.ten_minutes),
            "weekly": set(history.hours),
            "monthly": days,
            "yearly": days,
        }

    before = stored()
    history.merge_external(now, ten_minutes=meter.ten_minutes, hours=meter.hours, days=meter.days)
    after = stored()
    return tuple(
        LevelOutcome(
            level=part.level,
            rows=part.rows,
            added=len((after[part.level] - before[part.level]) & {b.start for b in part.buckets}),
        )
        for part in meter.levels
    )


def preview(history: History, meter: MeterRestore, now: float) -> tuple[LevelOutcome, ...]:
    """What `apply` would do, leaving `history` as it is (a dry run)."""
    return apply(history.copy(), meter, now)
