"""The agent's hand-written contract check agrees with the project's JSON Schema and examples."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.powerstats.core import restore_plan
from luckfox_agent.contract import (
    ContractError,
    FileEntry,
    check_level_file,
    check_manifest,
    parse_level_file,
    parse_manifest,
)
from luckfox_agent.mirror import MAX_MANIFEST_BYTES
from tests import contract as reference
from tests.www.rendered import longest_manifest

from .conftest import ROOT, Dataset

EXAMPLES = ROOT / "schemas" / "examples"
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((ROOT / "schemas" / "powerstats-1.schema.json").read_text())
)


def entry_for(doc: Any) -> FileEntry:
    """The manifest entry a level file would be fetched under (from the file's own claims)."""
    meter = doc.get("meter", {}).get("id", "house") if isinstance(doc.get("meter"), dict) else "x"
    level = (
        doc.get("level")
        if doc.get("level") in ("daily", "weekly", "monthly", "yearly")
        else "daily"
    )
    return FileEntry(
        str(meter),
        str(level),
        f"{meter}/{level}.json",
        "0" * 64,
        0,
        doc.get("timezone"),
        doc.get("currency"),
    )


def agent_accepts(doc: Any) -> bool:
    try:
        if isinstance(doc, dict) and "meters" in doc:
            check_manifest(doc)
        else:
            check_level_file(doc, entry_for(doc))
    except ContractError:
        return False
    return True


def good_examples() -> list[Path]:
    return [EXAMPLES / "published-manifest.json", *sorted((EXAMPLES / "house").glob("*.json"))]


@pytest.mark.parametrize("path", good_examples(), ids=lambda p: p.name)
def test_every_good_example_is_accepted(path: Path) -> None:
    assert agent_accepts(json.loads(path.read_text()))


@pytest.mark.parametrize("path", sorted((EXAMPLES / "bad").glob("*.json")), ids=lambda p: p.name)
def test_every_bad_example_is_refused(path: Path) -> None:
    assert not agent_accepts(json.loads(path.read_text()))


MEASURED = ("kwh", "mean_w", "min_w", "max_w", "cost")


def schema_and_rules_accept(doc: dict[str, Any]) -> bool:
    """The project's definition: the schema plus the three rules it cannot express."""
    if not SCHEMA.is_valid(doc):
        return False
    rows = doc["rows"]
    if any(len(row) != len(doc["columns"]) for row in rows):
        return False
    if not all(a[0] < b[0] for a, b in itertools.pairwise(rows)):
        return False
    # A bucket with coverage 0 has null measurements, and a null cost where it is priced.
    measured = [i for i, name in enumerate(doc["columns"]) if name in MEASURED]
    return all(row[5] != 0 or all(row[i] is None for i in measured) for row in rows)


CELLS = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.floats(-2, 2, allow_nan=False),
    st.booleans(),
    st.text(max_size=2),
)
BASE = json.loads((EXAMPLES / "house" / "daily.json").read_text())


@pytest.mark.parametrize("column", MEASURED)
def test_a_bucket_without_coverage_but_with_a_measurement_is_refused(column: str) -> None:
    doc = json.loads((EXAMPLES / "house" / "daily.json").read_text())
    at = doc["columns"].index(column)
    empty = next(i for i, row in enumerate(doc["rows"]) if row[5] == 0)
    assert all(doc["rows"][empty][doc["columns"].index(name)] is None for name in MEASURED)
    parse_level_file(json.dumps(doc).encode(), entry_for(doc))  # as published: all null
    doc["rows"][empty][at] = 0.0  # a zero is a measurement too: charts would draw it
    with pytest.raises(reference.ContractError, match="no coverage but has measurements"):
        reference.validate(doc)
    with pytest.raises(
        ContractError,
        match=rf"^house/daily\.json: row {empty} has no coverage but has measurements$",
    ):
        parse_level_file(json.dumps(doc).encode(), entry_for(doc))


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(CELLS, min_size=5, max_size=8), max_size=5),
    starts=st.lists(st.integers(0, 10), min_size=5, max_size=5),
    extra_column=st.sampled_from([None, "cost", "Bad-Name", "start"]),
)
def test_the_agent_agrees_with_the_schema_on_level_file_rows(
    rows: list[list[Any]], starts: list[int], extra_column: str | None
) -> None:
    doc = copy.deepcopy(BASE)
    if extra_column is not None:
        doc["columns"] = [*doc["columns"], extra_column]
    for row, start in zip(rows, starts, strict=False):
        if row:
            row[0] = start
    doc["rows"] = rows
    assert agent_accepts(doc) == schema_and_rules_accept(doc)


@pytest.mark.parametrize("path", good_examples(), ids=lambda p: p.name)
def test_every_good_example_passes_the_checks_made_before_parsing(path: Path) -> None:
    raw = path.read_bytes()
    if path.name == "published-manifest.json":
        _, entries = parse_manifest(raw)
        assert entries
    else:
        parse_level_file(raw, entry_for(json.loads(raw)))


def test_a_manifest_of_256_meters_with_the_longest_names_fits_and_passes_every_check() -> None:
    raw = longest_manifest(256, "2026-11-27T00:05:03+01:00")
    assert len(raw) <= MAX_MANIFEST_BYTES
    _, entries = parse_manifest(raw)
    assert len(entries) == 256 * 4


def test_brackets_and_escaped_quotes_inside_strings_are_not_nesting() -> None:
    doc = json.loads(Dataset.sample().manifest())
    doc["meters"][0]["name"] = 'House \\ "[[[[[[[[[[[[" {{{{{{{{{{ \\"'
    _, entries = parse_manifest(json.dumps(doc).encode())
    assert entries


def test_nesting_after_an_escaped_backslash_at_a_string_end_still_counts() -> None:
    raw = b'{"a": "ends with a backslash \\\\", "b": [[[[[[[[[[1]]]]]]]]]]}'
    with pytest.raises(ContractError, match="nested deeper than"):
        parse_manifest(raw)


ABSENT = object()
# (value, whether a reader keeps the folder). The example's meter is a power meter priced in EUR
# in both files. A kind is checked in each file on its own, so "energy" in one of them is kept;
# a currency must be the same in both (absent in both counts as the same), so one that differs
# from the other file's, or is set in one file only, is refused.
KINDS = [(ABSENT, True), ("power", True), ("energy", True), ("gas", False), ("", False)]
KINDS += [(None, False), (["power"], False)]
MALFORMED_CURRENCIES = [("ABCDEFGHI", False), ("", False), (42, False), (None, False)]
CURRENCY_IN_ONE_FILE = [(ABSENT, False), ("EUR", True), ("USD", False), ("ABCDEFGH", False)]
CURRENCY_IN_ONE_FILE += MALFORMED_CURRENCIES
CURRENCY_IN_BOTH = [(ABSENT, True), ("EUR", True), ("USD", True), ("€", True), ("ABCDEFGH", True)]
CURRENCY_IN_BOTH += MALFORMED_CURRENCIES
# Where a value goes: the manifest ("manifest") or the level file ("daily"), and the key's path.
Place = tuple[str, tuple[str | int, ...]]
MANIFEST_KIND: Place = ("manifest", ("meters", 0, "kind"))
MANIFEST_CURRENCY: Place = ("manifest", ("meters", 0, "currency"))
LEVEL_KIND: Place = ("daily", ("meter", "kind"))
LEVEL_CURRENCY: Place = ("daily", ("currency",))
PLACES: dict[str, tuple[tuple[Place, ...], list[tuple[object, bool]]]] = {
    "manifest meters[].kind": ((MANIFEST_KIND,), KINDS),
    "level file meter.kind": ((LEVEL_KIND,), KINDS),
    "manifest meters[].currency": ((MANIFEST_CURRENCY,), CURRENCY_IN_ONE_FILE),
    "level file currency": ((LEVEL_CURRENCY,), CURRENCY_IN_ONE_FILE),
    "currency in both files": ((MANIFEST_CURRENCY, LEVEL_CURRENCY), CURRENCY_IN_BOTH),
}
VARIANTS = [
    pytest.param(places, value, kept, id=f"{name}={'absent' if value is ABSENT else repr(value)}")
    for name, (places, values) in PLACES.items()
    for value, kept in values
]


def restore_accepts(manifest: bytes, daily: bytes) -> bool:
    """The integration's restore, reading the folder back: the judge of what a reader keeps."""
    try:
        published = restore_plan.read_manifest(manifest)
        meter = published.meters[0]
        listed = next(f for f in meter.files if f.level == "daily")
        restore_plan.read_level(listed, daily, meter, ZoneInfo(meter.timezone))
    except restore_plan.RestoreError:
        return False
    return True


def agent_accepts_folder(manifest: bytes, daily: bytes) -> bool:
    try:
        _, entries = parse_manifest(manifest)
        parse_level_file(daily, next(e for e in entries if e.path == "house/daily.json"))
    except ContractError:
        return False
    return True


def example_folder_with(places: tuple[Place, ...], value: object) -> tuple[bytes, bytes]:
    """The example's manifest.json and house/daily.json with `value` at each place (ABSENT
    removes the key), the manifest listing the changed daily file's size and sha256."""
    docs = {
        "manifest": json.loads((EXAMPLES / "published-manifest.json").read_text()),
        "daily": json.loads((EXAMPLES / "house" / "daily.json").read_text()),
    }
    for doc, keys in places:
        holder: Any = docs[doc]
        for key in keys[:-1]:
            holder = holder[key]
        if value is ABSENT:
            holder.pop(keys[-1], None)
        else:
            holder[keys[-1]] = value
    daily_raw = json.dumps(docs["daily"]).encode()
    listed = docs["manifest"]["meters"][0]["files"]["daily"]
    listed["sha256"], listed["bytes"] = hashlib.sha256(daily_raw).hexdigest(), len(daily_raw)
    return json.dumps(docs["manifest"]).encode(), daily_raw


@pytest.mark.parametrize(("places", "value", "kept"), VARIANTS)
def test_the_agent_refuses_a_kind_or_currency_exactly_when_restore_does(
    places: tuple[Place, ...], value: object, kept: bool
) -> None:
    manifest, daily = example_folder_with(places, value)
    assert restore_accepts(manifest, daily) == kept
    assert agent_accepts_folder(manifest, daily) == kept


MANIFEST_TIMEZONE: Place = ("manifest", ("meters", 0, "timezone"))
LEVEL_TIMEZONE: Place = ("daily", ("timezone",))


# The example's meter follows Europe/Amsterdam in both files; UTC keeps its rows on the
# 10-minute grid, so only the comparison of the two files can refuse it.
@pytest.mark.parametrize(
    ("places", "value", "kept"),
    [
        pytest.param((MANIFEST_TIMEZONE,), "UTC", False, id="manifest differs"),
        pytest.param((LEVEL_TIMEZONE,), "UTC", False, id="level file differs"),
        pytest.param((LEVEL_TIMEZONE,), ABSENT, False, id="level file has none"),
        pytest.param((MANIFEST_TIMEZONE, LEVEL_TIMEZONE), "UTC", True, id="both the same"),
        pytest.param((LEVEL_TIMEZONE,), "Europe/Amsterdam", True, id="as published"),
    ],
)
def test_the_agent_refuses_a_time_zone_exactly_when_restore_does(
    places: tuple[Place, ...], value: object, kept: bool
) -> None:
    manifest, daily = example_folder_with(places, value)
    assert restore_accepts(manifest, daily) == kept
    assert agent_accepts_folder(manifest, daily) == kept


def test_a_currency_not_the_manifests_is_refused_naming_both() -> None:
    manifest, daily = example_folder_with((LEVEL_CURRENCY,), "USD")
    _, entries = parse_manifest(manifest)
    with pytest.raises(
        ContractError, match=r"^house/daily\.json: currency 'USD' is not the manifest's 'EUR'$"
    ):
        parse_level_file(daily, next(e for e in entries if e.path == "house/daily.json"))
