"""Export and import files: a meter's canonical buckets, losslessly, as JSON or CSV.

Pure: no Home Assistant import and no clock reads. Unlike the published views (rounded for
size), an export holds every stored field of every bucket at full precision, so exporting and
importing into a fresh meter reproduces the same buckets bit for bit. An import file comes from
outside: `parse` checks all of it (format, units, time zone, every row) before anything is
returned, so a bad file is refused whole and nothing is half-imported.

Both formats carry the same header (format, meter, kind, time zone, the cost's currency) and
the same columns:

    level,start,seconds,kwh,covered_s,min_w,max_w,cost,backfill_s

`level` is `10min`, `hour` or `day`; units are in the names (kWh, seconds, W). CSV puts the
header in leading `# key: value` lines and ends with `# rows: <n>`, so a truncated file is
recognised even when it was cut at a line boundary.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Final, Literal

from .accounting import Bucket, mean_power
from .rollup import History
from .timegrid import bucket_slot

EXPORT_FORMAT: Final = "powerstats-export/1"
COLUMNS: Final = (
    "level",
    "start",
    "seconds",
    "kwh",
    "covered_s",
    "min_w",
    "max_w",
    "cost",
    "backfill_s",
)
type BucketLevel = Literal["10min", "hour", "day"]
BUCKET_LEVELS: Final[tuple[BucketLevel, ...]] = ("10min", "hour", "day")
# Column names other tools use for the same quantities in other units: recognised so the user
# is told the unit is wrong rather than that a column is missing.
_OTHER_UNITS: Final = frozenset(
    {"wh", "mwh", "kw", "mw", "w", "min_kw", "max_kw", "mean_kw", "covered_h", "covered_min"}
)
# Floats are compared with this slack where a sum of float seconds meets a whole bucket.
_SLACK: Final = 1e-6
# No number in a row may be larger: far beyond any bucket a meter measures, and far below where
# adding a year of rows or converting them to W would overflow to infinity.
_LARGEST: Final = 1e15
MAX_IMPORT_BYTES: Final = 64 * 1024 * 1024
# ISO 4217 codes have three letters; HA takes no longer ones, the published files allow eight.
_LONGEST_CURRENCY: Final = 8
# A value quoted from the file in an error is cut to this many characters: the file may hold
# megabytes where a time zone belongs, and the error is shown in the UI and logged.
_QUOTED: Final = 40


class ExportFileError(ValueError):
    """An import file was refused; `key` names the translation, `placeholders` fill it."""

    def __init__(self, key: str, message: str, **placeholders: str) -> None:
        super().__init__(message)
        self.key = key
        self.placeholders = placeholders


@dataclass(frozen=True, slots=True)
class ExportedBuckets:
    """The buckets of one meter for one range, by stored level."""

    meter_id: str
    kind: str
    timezone: str
    # What the cost column is counted in (Home Assistant's currency); None in older exports.
    currency: str | None = None
    ten_minutes: tuple[Bucket, ...] = ()
    hours: tuple[Bucket, ...] = ()
    days: tuple[Bucket, ...] = ()
    exported: str | None = field(default=None, compare=False)

    @property
    def count(self) -> int:
        """How many buckets there are."""
        return len(self.ten_minutes) + len(self.hours) + len(self.days)

    def rows(self) -> Iterable[tuple[BucketLevel, Bucket]]:
        """Every bucket with its level, level by level, each in time order."""
        for level, buckets in zip(
            BUCKET_LEVELS, (self.ten_minutes, self.hours, self.days), strict=True
        ):
            for b in buckets:
                yield level, b


def select(
    history: History,
    *,
    meter_id: str,
    kind: str,
    timezone: str,
    currency: str,
    levels: Iterable[BucketLevel],
    begin: float,
    end: float,
) -> ExportedBuckets:
    """The stored buckets of `levels` whose start lies in `[begin, end)`."""
    wanted = set(levels)

    def pick(level: BucketLevel, stored: Mapping[int, Bucket]) -> tuple[Bucket, ...]:
        if level not in wanted:
            return ()
        return tuple(b for s, b in sorted(stored.items()) if begin <= s < end)

    return ExportedBuckets(
        meter_id=meter_id,
        kind=kind,
        timezone=timezone,
        currency=currency,
        ten_minutes=pick("10min", history.ten_minutes),
        hours=pick("hour", history.hours),
        days=pick("day", history.days),
    )


# -- writing ----------------------------------------------------------------------------------


def _row(level: BucketLevel, b: Bucket) -> list[Any]:
    return [level, b.start, b.seconds, b.kwh, b.covered, b.min_w, b.max_w, b.cost, b.backfill]


def to_json(buckets: ExportedBuckets, exported: str) -> bytes:
    """The buckets as a JSON export file (floats written exactly, one row per line)."""
    head = {
        "format": EXPORT_FORMAT,
        "meter": buckets.meter_id,
        "kind": buckets.kind,
        "timezone": buckets.timezone,
        "currency": buckets.currency,
        "exported": exported,
        "columns": list(COLUMNS),
    }
    dump = json.dumps(head, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    rows = [json.dumps(_row(level, b), allow_nan=False) for level, b in buckets.rows()]
    body = ",\n".join(rows)
    return (dump[:-1] + ',"rows":[\n' + body + ("\n" if rows else "") + "]}\n").encode()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)


def to_csv(buckets: ExportedBuckets, exported: str) -> bytes:
    """The buckets as a CSV export file."""
    out = io.StringIO()
    out.write(f"# format: {EXPORT_FORMAT}\n")
    out.write(f"# meter: {buckets.meter_id}\n")
    out.write(f"# kind: {buckets.kind}\n")
    out.write(f"# timezone: {buckets.timezone}\n")
    if buckets.currency is not None:
        out.write(f"# currency: {buckets.currency}\n")
    out.write(f"# exported: {exported}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for level, b in buckets.rows():
        writer.writerow([_cell(v) for v in _row(level, b)])
    out.write(f"# rows: {buckets.count}\n")
    return out.getvalue().encode()


# -- reading ----------------------------------------------------------------------------------


def parse(
    data: bytes,
    tz: tzinfo,
    timezone: str,
    *,
    currency: str,
    not_after: float | None = None,
) -> ExportedBuckets:
    """Read and check a whole export file; raises `ExportFileError` on anything wrong.

    `tz`/`timezone` are the importing meter's time zone: buckets are aligned to its local
    clock, so a file from another zone is refused rather than misplaced. Costs counted in
    another `currency` than the importing Home Assistant's are refused too (a file that names
    none, as older exports, is taken as it is). A bucket starting at or after `not_after` (the
    bucket being measured now) is refused too.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise ExportFileError(
            "import_too_large",
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB",
            limit=str(MAX_IMPORT_BYTES // (1024 * 1024)),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _malformed("it is not UTF-8 text") from err
    stripped = text.lstrip()
    if stripped.startswith("{"):
        header, columns, raw_rows = _read_json(stripped)
    elif stripped.startswith("#"):
        header, columns, raw_rows = _read_csv(stripped)
    else:
        raise _malformed("it is neither a PowerStats JSON nor CSV export")
    if header.get("format") != EXPORT_FORMAT:
        raise _malformed(
            f"its format is {_quoted(header.get('format'))}, expected {EXPORT_FORMAT!r}"
        )
    _check_columns(columns)
    file_zone = header.get("timezone")
    if file_zone != timezone:
        shown_zone = _shown(file_zone)
        raise ExportFileError(
            "import_wrong_timezone",
            f"The file's buckets follow time zone {shown_zone}, this meter follows {timezone}",
            file_timezone=shown_zone,
            timezone=timezone,
        )
    file_currency = header.get("currency")
    if file_currency is not None and not (
        isinstance(file_currency, str) and 1 <= len(file_currency) <= _LONGEST_CURRENCY
    ):
        raise _malformed("its currency is not a short text")
    levels: dict[BucketLevel, list[Bucket]] = {level: [] for level in BUCKET_LEVELS}
    for number, raw in enumerate(raw_rows, start=1):
        level, bucket = _read_row(number, raw, tz)
        if not_after is not None and bucket.start >= not_after:
            raise _bad_row(number, "it starts in the future or in the bucket being measured now")
        done = levels[level]
        if done and bucket.start <= done[-1].start:
            raise _bad_row(number, "rows of a level must be in strictly increasing start order")
        done.append(bucket)
        if bucket.cost is not None and file_currency not in (None, currency):
            # Costs in another currency would be summed with these as if they were one.
            raise ExportFileError(
                "import_wrong_currency",
                f"The file's costs are in {file_currency}, this Home Assistant counts in "
                f"{currency}",
                file_currency=str(file_currency),
                currency=currency,
            )
    return ExportedBuckets(
        meter_id=str(header.get("meter", "")),
        kind=str(header.get("kind", "")),
        timezone=timezone,
        currency=file_currency,
        ten_minutes=tuple(levels["10min"]),
        hours=tuple(levels["hour"]),
        days=tuple(levels["day"]),
        exported=None if header.get("exported") is None else str(header.get("exported")),
    )


def _shown(value: object) -> str:
    """A value from the file as an error may show it: cut short, containers only named.

    A list or object is never turned into text: it may be nested as deep as the JSON reader
    allows, or be most of the file.
    """
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= _QUOTED else text[: _QUOTED - 1] + "…"


def _quoted(value: object) -> str:
    """`_shown`, with a text in quotes so an empty or padded one can be seen as such."""
    return repr(_shown(value)) if isinstance(value, str) else _shown(value)


def _malformed(reason: str) -> ExportFileError:
    return ExportFileError(
        "import_malformed", f"The file is not a PowerStats export: {reason}", reason=reason
    )


def _truncated(reason: str) -> ExportFileError:
    return ExportFileError(
        "import_truncated", f"The file is incomplete (truncated?): {reason}", reason=reason
    )


def _bad_row(number: int, reason: str) -> ExportFileError:
    return ExportFileError(
        "import_invalid_row", f"Row {number} is invalid: {reason}", row=str(number), reason=reason
    )


def _read_json(text: str) -> tuple[dict[str, Any], list[Any], list[list[Any]]]:
    try:
        body = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as err:
        # Brackets thousands deep exhaust the reader; an export nests no deeper than its rows.
        raise _malformed("its JSON is nested too deeply") from err
    except json.JSONDecodeError as err:
        if not text.rstrip().endswith("}"):
            # Every export ends with its closing brace; a file cut short does not.
            raise _truncated("the JSON ends before it is complete") from err
        raise _malformed(f"invalid JSON at line {err.lineno}") from err
    except ValueError as err:
        raise _malformed(str(err)) from err
    if not isinstance(body, dict):
        raise _malformed("the JSON is not an object")
    columns, rows = body.get("columns"), body.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise _malformed("it has no columns and rows")
    if not all(isinstance(r, list) for r in rows):
        raise _malformed("a row is not a list")
    return body, columns, rows


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _read_csv(text: str) -> tuple[dict[str, Any], list[Any], list[list[Any]]]:
    lines = text.splitlines()
    header: dict[str, Any] = {}
    index = 0
    while index < len(lines) and lines[index].startswith("#"):
        key, _, value = lines[index][1:].partition(":")
        header[key.strip()] = value.strip()
        index += 1
    trailer = lines[-1] if lines else ""
    if index >= len(lines) or not trailer.startswith("# rows:"):
        raise _truncated("the closing '# rows: <n>' line is missing")
    body = lines[index:-1]
    if not body:
        raise _malformed("the column line is missing")
    try:
        parsed = list(csv.reader(body, strict=True))
    except csv.Error as err:
        raise _malformed(f"invalid CSV ({err})") from err
    columns, rows = parsed[0], parsed[1:]
    try:
        expected = int(trailer.partition(":")[2].strip())
    except ValueError as err:
        raise _malformed("the '# rows:' line does not hold a number") from err
    if expected != len(rows):
        raise _truncated(f"it announces {_shown(expected)} rows and holds {len(rows)}")
    typed = [[_csv_cell(i, cell) for i, cell in enumerate(row)] for row in rows]
    return header, columns, typed


def _csv_cell(index: int, cell: str) -> Any:
    """CSV cells as JSON would give them: '' is null, numbers stay text until checked."""
    if cell == "":
        return None
    if index == 0:
        return cell
    return _CsvNumber(cell)


class _CsvNumber(str):
    """A CSV cell that must be a number; checked like a JSON number in `_read_row`."""

    __slots__ = ()


def _check_columns(columns: Sequence[Any]) -> None:
    names = [c.strip().lower() if isinstance(c, str) else _shown(c) for c in columns]
    if names == list(COLUMNS):
        return
    wrong = sorted(set(names) & _OTHER_UNITS)
    if wrong:
        raise ExportFileError(
            "import_wrong_unit",
            f"The file has column(s) {', '.join(wrong)}; an export holds energy in kWh, power "
            "in W and time in seconds",
            columns=", ".join(wrong),
        )
    shown = ", ".join(_shown(n) for n in names[: len(COLUMNS)])
    if len(names) > len(COLUMNS):
        shown += ", …"
    raise _malformed(f"its columns are {shown}, expected {', '.join(COLUMNS)}")


def _number(number: int, name: str, value: Any, *, optional: bool = False) -> float | None:
    if value is None:
        if optional:
            return None
        raise _bad_row(number, f"{name} is missing")
    if isinstance(value, bool):
        raise _bad_row(number, f"{name} is not a number")
    if isinstance(value, _CsvNumber):
        try:
            result = float(value)
        except ValueError:
            raise _bad_row(number, f"{name} is not a number") from None
    elif isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits: no float holds it
            raise _bad_row(number, f"{name} is larger than {_LARGEST:g}") from None
    else:
        raise _bad_row(number, f"{name} is not a number")
    if not math.isfinite(result):
        raise _bad_row(number, f"{name} is not finite")
    if abs(result) > _LARGEST:
        raise _bad_row(number, f"{name} is larger than {_LARGEST:g}")
    return result


def _required(number: int, name: str, value: Any) -> float:
    result = _number(number, name, value)
    if result is None:  # unreachable: _number raises for a missing required value
        raise _bad_row(number, f"{name} is missing")
    return result


def _integer(number: int, name: str, value: Any) -> int:
    result = _required(number, name, value)
    if not result.is_integer():
        raise _bad_row(number, f"{name} is not a whole number of seconds")
    return int(result)


def _read_row(number: int, raw: Sequence[Any], tz: tzinfo) -> tuple[BucketLevel, Bucket]:
    if len(raw) != len(COLUMNS):
        raise _bad_row(number, f"it has {len(raw)} cells, expected {len(COLUMNS)}")
    level = raw[0]
    if level not in BUCKET_LEVELS:
        raise _bad_row(number, f"unknown level {_quoted(level)}")
    start = _integer(number, "start", raw[1])
    seconds = _integer(number, "seconds", raw[2])
    kwh = _required(number, "kwh", raw[3])
    covered = _required(number, "covered_s", raw[4])
    min_w = _number(number, "min_w", raw[5], optional=True)
    max_w = _number(number, "max_w", raw[6], optional=True)
    cost = _number(number, "cost", raw[7], optional=True)
    backfill = _required(number, "backfill_s", raw[8])
    try:
        expected_start, expected_seconds = bucket_slot(level, start, tz)
    except (OverflowError, ValueError, OSError):
        raise _bad_row(number, f"start {start} is no time on the calendar") from None
    if start != expected_start:
        raise _bad_row(number, f"start {start} is not the start of a local {level} bucket")
    if seconds != expected_seconds:
        raise _bad_row(number, f"a {level} bucket starting at {start} lasts {expected_seconds} s")
    if not 0 <= covered <= seconds + _SLACK:
        raise _bad_row(number, "covered_s must be between 0 and the bucket's length")
    if not 0 <= backfill <= covered + _SLACK:
        raise _bad_row(number, "backfill_s must be between 0 and covered_s")
    if covered > 0 and not math.isfinite(mean_power(kwh, covered)):
        raise _bad_row(number, "kwh over covered_s is no finite power")
    if (min_w is None) != (max_w is None) or (
        min_w is not None and max_w is not None and min_w > max_w
    ):
        raise _bad_row(number, "min_w and max_w must both be given, with min_w <= max_w")
    bucket = Bucket(
        start=start,
        seconds=seconds,
        kwh=kwh,
        covered=covered,
        min_w=min_w,
        max_w=max_w,
        cost=cost,
        backfill=backfill,
    )
    return level, bucket
