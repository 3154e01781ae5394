"""The agent's JSON on the `_json` C module: what the `json` package reads and writes."""

from __future__ import annotations

import json
import math

import pytest

from luckfox_agent import jsonlite

from .conftest import Dataset, level_file

DOCUMENTS = [
    '{"a": [1, 2.5, -3e2, true, false, null, "x\\u00e9\\n\\"q\\""]}',
    " [1]\n",
    '"text"',
    "0",
    "{}",
    "[]",
    '{"a": {"b": {"c": [[], {}]}}}',
    level_file("house", "yearly", rows=366).decode(),
    Dataset.sample(("house", "garage")).manifest().decode(),
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_it_reads_what_json_reads_from_str_and_bytes(text: str) -> None:
    assert jsonlite.loads(text) == json.loads(text)
    assert jsonlite.loads(text.encode()) == json.loads(text.encode())


@pytest.mark.parametrize(
    "text", ["", " ", "[1] x", '{"a":}', "[1,]", "[01]", "\ufeff[1]", "{'a': 1}"]
)
def test_what_is_not_json_is_a_value_error(text: str) -> None:
    # The C scanner's own messages (as json.loads gives them) or this module's.
    with pytest.raises(ValueError, match=r"(?i)expecting|extra data|illegal|invalid"):
        jsonlite.loads(text)


def test_parse_float_and_parse_constant_are_called_as_json_calls_them() -> None:
    seen: list[str] = []

    def refuse(name: str) -> None:
        raise LookupError(name)

    def record(text: str) -> float:
        seen.append(text)
        return 0.0

    assert jsonlite.loads("[1.5, 2]", parse_float=record) == [0.0, 2]
    assert seen == ["1.5"]
    with pytest.raises(LookupError, match="NaN"):
        jsonlite.loads("[NaN]", parse_constant=refuse)
    assert math.isinf(jsonlite.loads("Infinity"))


@pytest.mark.parametrize(
    "value",
    [
        {"etag": '"abc"', "last_success": 1764198000.25, "last_error": None, "n": 3},
        {"z": [1, "é\u2028", True, False, None, -0.0, 1e-7], "a": {}},
        [],
        "x",
    ],
)
def test_it_writes_what_json_dumps_writes(value: object) -> None:
    assert jsonlite.dumps(value, sort_keys=True) == json.dumps(value, sort_keys=True)
    assert jsonlite.dumps(value) == json.dumps(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1: "x"}, object()])
def test_what_json_cannot_hold_is_refused(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        jsonlite.dumps(value)
