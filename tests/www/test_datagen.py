"""The browser tests' data generator writes files the data contract accepts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.contract import validate, validate_bytes
from tests.www.datagen import MeterSpec, fixed_now, write_dataset


def test_every_generated_file_keeps_the_contract_and_is_listed_by_its_hash(
    tmp_path: Path,
) -> None:
    meters = [
        MeterSpec(gaps={"weekly": range(3, 9)}, backfilled={"yearly": range(0, 40)}),
        MeterSpec(id="garage", name="Garage", currency=None, price_per_kwh=None),
    ]
    dataset = write_dataset(tmp_path, meters, fixed_now(), maintenance=True)
    manifest = json.loads((tmp_path / "manifest.json").read_bytes())
    validate(manifest)
    listed = {"manifest.json"}
    for meter in manifest["meters"]:
        for entry in meter["files"].values():
            data = (tmp_path / entry["path"]).read_bytes()
            validate_bytes(data)
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert len(data) == entry["bytes"]
            listed.add(entry["path"])
    assert set(dataset.documents) == listed
