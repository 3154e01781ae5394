"""The reference check of the data contract: the JSON Schema plus the rules it cannot express.

Every test that produces or consumes PowerStats files validates them here, so the integration,
the dashboard and the agent are held to one definition of "a valid file".
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "schemas" / "powerstats-1.schema.json"
MEASUREMENTS = ("kwh", "mean_w", "min_w", "max_w")


class ContractError(ValueError):
    """A document breaks the powerstats/1 contract."""


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(document: Any) -> None:
    """Raise ContractError unless `document` is a valid manifest or level file."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.path))
    if errors:
        raise ContractError("; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5]))
    if "level" in document:
        _check_rows(document)


def validate_bytes(data: bytes) -> Any:
    """Parse and validate a file's exact bytes; return the parsed document."""
    document = json.loads(data)
    validate(document)
    return document


def _check_rows(document: dict[str, Any]) -> None:
    columns: list[str] = document["columns"]
    previous = None
    coverage_at = columns.index("coverage")
    # A bucket with coverage 0 has null measurements and, when priced, a null cost.
    measured_at = [columns.index(name) for name in (*MEASUREMENTS, "cost") if name in columns]
    for number, row in enumerate(document["rows"]):
        if len(row) != len(columns):
            raise ContractError(f"row {number} has {len(row)} cells for {len(columns)} columns")
        if previous is not None and row[0] <= previous:
            raise ContractError(f"row {number} starts at {row[0]}, not after {previous}")
        previous = row[0]
        if row[coverage_at] == 0 and any(row[i] is not None for i in measured_at):
            raise ContractError(f"row {number} has no coverage but has measurements")
