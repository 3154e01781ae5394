"""The data contract: the schema accepts the examples and rejects every bad one."""

import hashlib
import json
from pathlib import Path

import pytest

from tests.contract import ContractError, validate, validate_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
BAD = sorted((EXAMPLES / "bad").glob("*.json"))


def test_the_example_manifest_and_level_files_are_valid() -> None:
    manifest = validate_bytes((EXAMPLES / "published-manifest.json").read_bytes())
    for meter in manifest["meters"]:
        for level, entry in meter["files"].items():
            document = validate_bytes((EXAMPLES / entry["path"]).read_bytes())
            assert document["level"] == level


def test_the_example_manifest_lists_the_exact_hash_and_size_of_each_file() -> None:
    manifest = json.loads((EXAMPLES / "published-manifest.json").read_bytes())
    for entry in manifest["meters"][0]["files"].values():
        data = (EXAMPLES / entry["path"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["bytes"] == len(data)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_the_contract_rejects_a_bad_example(path: Path) -> None:
    with pytest.raises(ContractError):
        validate(json.loads(path.read_bytes()))


def test_a_reader_can_ignore_a_column_it_does_not_know() -> None:
    document = json.loads((EXAMPLES / "house" / "yearly.json").read_bytes())
    document["columns"].append("backfill")
    for row in document["rows"]:
        row.append(0.5)
    validate(document)


def test_a_level_that_is_not_published_is_simply_absent_from_the_manifest() -> None:
    manifest = json.loads((EXAMPLES / "published-manifest.json").read_bytes())
    del manifest["meters"][0]["files"]["daily"]
    validate(manifest)
