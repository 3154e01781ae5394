"""`loads` and `dumps` on the `_json` C module, without the `json` package's Python layer.

`json` imports its decoder, encoder and scanner modules (about 0.15 MB resident on the board,
for good) to wrap the same C scanner and string escaper used here. Only what the agent needs:
`loads` with `parse_float` and `parse_constant`, `dumps` of dicts, lists, strings, numbers,
booleans and None (as `json.dumps` writes them with its default separators).
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Callable, List, Optional

_SPACE = " \t\n\r"


class _Context:
    """The attributes the C scanner reads from a json.JSONDecoder."""

    __slots__ = (
        "object_hook",
        "object_pairs_hook",
        "parse_constant",
        "parse_float",
        "parse_int",
        "strict",
    )

    def __init__(self, parse_float: Callable[[str], Any], parse_constant: Any) -> None:
        self.strict = True
        self.object_hook: Optional[Callable[..., Any]] = None
        self.object_pairs_hook: Optional[Callable[..., Any]] = None
        self.parse_float = parse_float
        self.parse_int = int
        self.parse_constant = parse_constant


def _constant(name: str) -> float:
    return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


def loads(
    text: Any,
    parse_float: Callable[[str], Any] = float,
    parse_constant: Callable[[str], Any] = _constant,
) -> Any:
    """Parse one JSON document (str or UTF-8 bytes); ValueError when it is not JSON."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")
    scan = _json.make_scanner(_Context(parse_float, parse_constant))  # type: ignore[arg-type]
    start = len(text) - len(text.lstrip(_SPACE))
    try:
        value, end = scan(text, start)
    except StopIteration:
        raise ValueError("expecting a JSON value") from None
    if text[end:].strip(_SPACE):
        raise ValueError(f"extra data after the JSON value at character {end}")
    return value


def dumps(value: Any, sort_keys: bool = False) -> str:
    """Serialize like json.dumps(value, sort_keys=...) with its default separators."""
    parts: List[str] = []
    _write(value, parts, sort_keys)
    return "".join(parts)


def _write(value: Any, parts: List[str], sort_keys: bool) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_json.encode_basestring_ascii(value))
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("NaN and Infinity are not JSON")
        parts.append(float.__repr__(value))
    elif isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        parts.append("{")
        for index, (key, item) in enumerate(items):
            if not isinstance(key, str):
                raise TypeError(f"keys must be strings, not {type(key).__name__}")
            parts.append((", " if index else "") + _json.encode_basestring_ascii(key) + ": ")
            _write(item, parts, sort_keys)
        parts.append("}")
    elif isinstance(value, (list, tuple)):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(", ")
            _write(item, parts, sort_keys)
        parts.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
