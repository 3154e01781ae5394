"""The data contract (format powerstats/1), checked by hand: the board has no jsonschema.

Mirrors schemas/powerstats-1.schema.json plus the rules a schema cannot say (rows strictly
increasing by start, one cell per column). Anything from the source is hostile until it
passes here; a file that fails is never swapped into the web root. Raw bytes are measured
(arrays, objects, strings, nesting) before `json.loads` builds anything, so a hostile file
cannot make the agent allocate much more than its own size.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, List, Optional, Tuple

FORMAT = "powerstats/1"
LEVELS = {"daily": "10min", "weekly": "hour", "monthly": "day", "yearly": "day"}
FIRST_COLUMNS = ("start", "kwh", "mean_w", "min_w", "max_w", "coverage")
KINDS = ("power", "energy")

# Checked by hand rather than with `re`, which (with enum, functools and collections) costs
# about 0.4 MB resident on the board for these five shapes; ASCII digits and letters only.
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_METER = _NAME | {"-"}
_HEX = frozenset("0123456789abcdef")


def _is_timestamp(text: str) -> bool:
    """YYYY-MM-DDTHH:MM:SS, an optional .fraction, then Z or +HH:MM / -HH:MM."""
    head, rest = text[:19], text[19:]
    if len(head) != 19 or [head[i] for i in (4, 7, 10, 13, 16)] != ["-", "-", "T", ":", ":"]:
        return False
    if not all(c in _DIGITS for i, c in enumerate(head) if i not in (4, 7, 10, 13, 16)):
        return False
    if rest.startswith("."):
        digits = len(rest) - 1 - len(rest[1:].lstrip("0123456789"))
        if digits == 0:
            return False
        rest = rest[1 + digits :]
    if rest == "Z":
        return True
    return (
        len(rest) == 6
        and rest[0] in "+-"
        and rest[3] == ":"
        and all(c in _DIGITS for c in rest[1:3] + rest[4:])
    )


def _is_meter_id(text: str) -> bool:
    return 1 <= len(text) <= 32 and all(c in _METER for c in text)


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in _HEX for c in text)


def _is_currency(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 8


def _is_column(text: str) -> bool:
    return text[:1] in _LETTERS and all(c in _NAME for c in text)


def _is_entity_id(text: str) -> bool:
    domain, dot, name = text.partition(".")
    return bool(dot and domain and name) and all(c in _NAME for c in domain + name)


# Limits above what the integration writes (a yearly file has 366 rows of at most 8 cells; a
# manifest lists up to 200 meters, what PowerStats is built for) and far below what could hurt
# the board's memory.
MAX_METERS = 256
MAX_ROWS = 1000
MAX_COLUMNS = 16
MAX_DEPTH = 8
# Every byte but the five that open or close something: what the nesting scan deletes.
_NOT_SPECIAL = bytes(b for b in range(256) if b not in b'[]{}"')


class ContractError(ValueError):
    """A file does not follow the powerstats/1 contract; the message says where."""


class FileEntry:
    """One data file the manifest lists, with what its meter there says the file must say."""

    __slots__ = (
        "currency",
        "level",
        "meter_id",
        "path",
        "sha256",
        "size",
        "timezone",
    )

    meter_id: str
    level: str
    path: str
    sha256: str
    size: int
    # The meter's, as the level file must say them: the parsed manifest's own strings, shared
    # by the meter's files rather than copied (a manifest lists up to 1,024 files).
    timezone: str
    currency: Optional[str]

    def __init__(
        self,
        meter_id: str,
        level: str,
        path: str,
        sha256: str,
        size: int,
        timezone: str,
        currency: Optional[str],
    ) -> None:
        self.meter_id = meter_id
        self.level = level
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.timezone = timezone
        self.currency = currency


def _shape(raw: bytes, what: str, max_containers: int, max_strings: int, max_values: int) -> None:
    """Refuse bytes that would build too many or too deeply nested values, before parsing.

    Counting is done by C code (bytes.count; every value but the last of an array or object
    is followed by a comma); the nesting scan then visits only brackets, quotes and
    backslashes.
    """
    _require(
        raw.count(b",") < max_values,
        f"{what} holds more than {max_values} values; refused unparsed",
    )
    containers = raw.count(b"[") + raw.count(b"{")
    _require(
        containers <= max_containers,
        f"{what} holds more than {max_containers} arrays and objects; refused unparsed",
    )
    _require(
        raw.count(b'"') <= 2 * max_strings,
        f"{what} holds more than {max_strings} strings; refused unparsed",
    )
    depth = 0
    in_string = False
    # An escaped backslash or quote opens and closes nothing: drop those pairs (left to
    # right, as a reader would pair them), then walk only brackets and quotes.
    for char in raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_SPECIAL):
        if char == 0x22:
            in_string = not in_string
        elif in_string:
            continue
        elif char in (0x5B, 0x7B):
            depth += 1
            _require(depth <= MAX_DEPTH, f"{what} is nested deeper than {MAX_DEPTH} levels")
        elif char in (0x5D, 0x7D):
            depth -= 1


def _no_constant(name: str) -> Any:
    raise ContractError(f"holds {name}, which is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if value - value != 0:  # inf and nan: 1e999 parses to inf
        raise ContractError(f"holds {text}, a number too large to be real")
    return value


def _loads(raw: bytes, what: str, max_containers: int, max_strings: int, max_values: int) -> Any:
    """Parse `raw` once the shape check passed; NaN, Infinity and overflowing numbers refused."""
    from . import jsonlite as json

    _shape(raw, what, max_containers, max_strings, max_values)
    try:
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except ContractError as err:
        raise ContractError(f"{what} {err}") from None
    except (ValueError, RecursionError):
        raise ContractError(f"{what} is not valid JSON") from None


def parse_manifest(raw: bytes) -> Tuple[Any, Tuple[FileEntry, ...]]:
    """Parse and validate manifest bytes; returns the document and the files it lists."""
    doc = _loads(
        raw, "manifest.json", MAX_METERS * 8 + 64, MAX_METERS * 64 + 256, MAX_METERS * 64 + 256
    )
    return doc, check_manifest(doc)


def parse_level_file(raw: bytes, entry: FileEntry) -> None:
    """Parse and validate a level file's bytes against the manifest entry naming it."""
    doc = _loads(
        raw, entry.path, MAX_ROWS + 64, 4 * MAX_COLUMNS + 256, MAX_ROWS * (MAX_COLUMNS + 1) + 512
    )
    check_level_file(doc, entry)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractError(message)


def _claimed(value: Optional[str]) -> str:
    """A currency as an error message shows it; an absent one is named so."""
    return "(none)" if value is None else repr(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_format(doc: Any, what: str) -> None:
    _require(isinstance(doc, dict), f"{what} is not a JSON object")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise ContractError(
            f"{what} has format {fmt!r}; this agent understands {FORMAT} - update the agent"
        )


def check_manifest(doc: Any) -> Tuple[FileEntry, ...]:
    """Validate a parsed manifest; returns the files it lists."""
    _check_format(doc, "manifest.json")
    _require("level" not in doc, "manifest.json looks like a level file")
    _require(
        isinstance(doc.get("generated"), str) and _is_timestamp(doc["generated"]),
        "manifest.json: generated is not a timestamp",
    )
    _require(
        isinstance(doc.get("maintenance"), bool), "manifest.json: maintenance is not a boolean"
    )
    if "refresh_seconds" in doc:
        _require(
            _is_int(doc["refresh_seconds"]) and doc["refresh_seconds"] >= 1,
            "manifest.json: refresh_seconds is not a positive integer",
        )
    meters = doc.get("meters")
    _require(isinstance(meters, list), "manifest.json: meters is not a list")
    _require(len(meters) <= MAX_METERS, f"manifest.json lists more than {MAX_METERS} meters")
    entries: List[FileEntry] = []
    seen = set()
    for index, meter in enumerate(meters):
        where = f"manifest.json: meters[{index}]"
        _require(isinstance(meter, dict), f"{where} is not an object")
        for key in ("id", "name", "entity_id", "timezone", "files"):
            _require(key in meter, f"{where} has no {key}")
        meter_id = meter["id"]
        _require(
            isinstance(meter_id, str) and _is_meter_id(meter_id),
            f"{where}: id is not a meter id",
        )
        _require(meter_id not in seen, f"{where}: meter id {meter_id} is listed twice")
        seen.add(meter_id)
        _require(
            isinstance(meter["name"], str) and 1 <= len(meter["name"]) <= 100,
            f"{where}: name must be 1-100 characters",
        )
        _require(
            isinstance(meter["entity_id"], str) and _is_entity_id(meter["entity_id"]),
            f"{where}: entity_id is not an entity id",
        )
        _require(
            isinstance(meter["timezone"], str) and 1 <= len(meter["timezone"]) <= 64,
            f"{where}: timezone must be 1-64 characters",
        )
        if "kind" in meter:
            _require(meter["kind"] in KINDS, f"{where}: kind must be power or energy")
        if "currency" in meter:
            _require(_is_currency(meter["currency"]), f"{where}: currency must be 1-8 characters")
        files = meter["files"]
        _require(isinstance(files, dict), f"{where}: files is not an object")
        for level, entry in files.items():
            fwhere = f"{where}.files.{level}"
            _require(level in LEVELS, f"{fwhere}: unknown level")
            _require(isinstance(entry, dict), f"{fwhere} is not an object")
            path, digest, size = entry.get("path"), entry.get("sha256"), entry.get("bytes")
            _require(
                path == f"{meter_id}/{level}.json",
                f"{fwhere}: path must be {meter_id}/{level}.json",
            )
            _require(
                isinstance(digest, str) and _is_sha256(digest),
                f"{fwhere}: sha256 is not 64 lower-case hex digits",
            )
            _require(_is_int(size) and size >= 0, f"{fwhere}: bytes is not a size")
            updated = entry.get("updated")
            _require(
                isinstance(updated, str) and _is_timestamp(updated),
                f"{fwhere}: updated is not a timestamp",
            )
            entries.append(
                FileEntry(
                    meter_id,
                    level,
                    str(path),
                    str(digest),
                    int(size),
                    meter["timezone"],
                    meter.get("currency"),
                )
            )
    return tuple(entries)


def check_level_file(doc: Any, entry: FileEntry) -> None:
    """Validate a parsed level file against the contract and the manifest entry naming it."""
    what = entry.path
    _check_format(doc, what)
    for key in ("level", "meter", "timezone", "bucket", "generated", "columns", "rows"):
        _require(key in doc, f"{what} has no {key}")
    _require(doc["level"] == entry.level, f"{what}: level is {doc['level']!r}, not {entry.level}")
    _require(
        doc["bucket"] == LEVELS[entry.level],
        f"{what}: bucket must be {LEVELS[entry.level]} for level {entry.level}",
    )
    meter = doc["meter"]
    _require(
        isinstance(meter, dict) and meter.get("id") == entry.meter_id,
        f"{what}: meter.id is not {entry.meter_id}",
    )
    _require(
        isinstance(meter.get("name"), str) and isinstance(meter.get("entity_id"), str),
        f"{what}: meter needs a name and an entity_id",
    )
    # As the integration's restore checks them (core/restore_plan.py), since the board's copy
    # is a folder HA may restore from: the kind on its own, the currency and time zone also
    # against the manifest's meter (absent in both counts as the same currency).
    if "kind" in meter:
        _require(meter["kind"] in KINDS, f"{what}: meter.kind must be power or energy")
    if "currency" in doc:
        _require(_is_currency(doc["currency"]), f"{what}: currency must be 1-8 characters")
    _require(
        doc.get("currency") == entry.currency,
        f"{what}: currency {_claimed(doc.get('currency'))} is not the manifest's "
        f"{_claimed(entry.currency)}",
    )
    _require(
        isinstance(doc["timezone"], str) and 1 <= len(doc["timezone"]) <= 64,
        f"{what}: timezone must be 1-64 characters",
    )
    _require(
        doc["timezone"] == entry.timezone,
        f"{what}: timezone {doc['timezone']!r} is not the manifest's {entry.timezone!r}",
    )
    _require(
        isinstance(doc["generated"], str) and _is_timestamp(doc["generated"]),
        f"{what}: generated is not a timestamp",
    )
    columns = doc["columns"]
    _require(
        isinstance(columns, list) and tuple(columns[:6]) == FIRST_COLUMNS,
        f"{what}: columns must start with {', '.join(FIRST_COLUMNS)}",
    )
    _require(
        all(isinstance(c, str) and _is_column(c) for c in columns),
        f"{what}: a column name is malformed",
    )
    _require(len(set(columns)) == len(columns), f"{what}: a column is listed twice")
    _require(len(columns) <= MAX_COLUMNS, f"{what} has more than {MAX_COLUMNS} columns")
    rows = doc["rows"]
    _require(isinstance(rows, list), f"{what}: rows is not a list")
    _require(len(rows) <= MAX_ROWS, f"{what} has more than {MAX_ROWS} rows")
    width = len(columns)
    # Cells a bucket without coverage leaves null (kwh, mean_w, min_w, max_w and any cost), so
    # that charts show a gap, never a zero: as the reference check, the dashboard and restore.
    measured = (1, 2, 3, 4, columns.index("cost")) if "cost" in columns else (1, 2, 3, 4)
    previous = None
    for index, row in enumerate(rows):
        _require(
            isinstance(row, list) and len(row) == width,
            f"{what}: row {index} does not have one cell per column",
        )
        start = row[0]
        _require(_is_int(start), f"{what}: row {index} start is not an integer")
        _require(
            previous is None or start > previous,
            f"{what}: row {index} is not after the previous row",
        )
        previous = start
        coverage = row[5]
        _require(
            _is_number(coverage) and 0 <= coverage <= 1,
            f"{what}: row {index} coverage is not between 0 and 1",
        )
        _require(
            all(cell is None or _is_number(cell) for cell in row[1:]),
            f"{what}: row {index} has a cell that is neither a number nor null",
        )
        _require(
            coverage != 0 or all(row[i] is None for i in measured),
            f"{what}: row {index} has no coverage but has measurements",
        )
