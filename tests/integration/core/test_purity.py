"""The functional core stays pure: no Home Assistant import, no clock read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).parents[3] / "custom_components" / "powerstats" / "core"
MODULES = sorted(CORE.glob("*.py"))
# Calls that read the clock; the core takes times as arguments instead.
CLOCK_READS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}


def imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def clock_reads(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in CLOCK_READS
        ):
            found.append(f"{node.func.value.id}.{node.func.attr} (line {node.lineno})")
    return found


def test_the_core_has_modules() -> None:
    assert len(MODULES) >= 9


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_a_core_module_imports_nothing_from_home_assistant(module: Path) -> None:
    tree = ast.parse(module.read_text(), str(module))
    assert [name for name in imported_modules(tree) if name.split(".")[0] == "homeassistant"] == []


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_a_core_module_never_reads_the_clock(module: Path) -> None:
    assert clock_reads(ast.parse(module.read_text(), str(module))) == []


def test_the_check_sees_a_home_assistant_import_and_a_clock_read() -> None:
    tree = ast.parse(
        "from homeassistant.core import HomeAssistant\nimport time\nstamp = time.time()\n"
    )
    assert imported_modules(tree)[0] == "homeassistant.core"
    assert clock_reads(tree) == ["time.time (line 3)"]
