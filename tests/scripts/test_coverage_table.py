"""The coverage table: every module against the threshold, each one under it named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.coverage_table import line_ranges, main


def write_report(path: Path, files: dict[str, tuple[int, list[int]]]) -> Path:
    """A coverage.py JSON report holding what the table reads: statements and missing lines."""
    report = {
        "files": {
            name: {"summary": {"num_statements": statements}, "missing_lines": missing}
            for name, (statements, missing) in files.items()
        }
    }
    path.write_text(json.dumps(report))
    return path


def test_every_module_at_the_threshold_passes_and_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = write_report(tmp_path / "c.json", {"a.py": (20, [7]), "b.py": (0, [])})
    assert main([str(report), "--min", "95"]) == 0
    out = capsys.readouterr().out
    assert "| a.py | 20 | 1 | 95.0 % |  |" in out
    assert "| b.py | 0 | 0 | 100.0 % |  |" in out
    assert "| total | 20 | 1 | 95.0 % | |" in out


def test_one_module_under_the_threshold_fails_the_run_though_the_total_is_above(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = write_report(
        tmp_path / "c.json", {"big.py": (1000, []), "small.py": (10, [3, 4, 5, 9])}
    )
    assert main([str(report)]) == 1
    out = capsys.readouterr().out
    assert "| small.py | 10 | 4 | 60.0 % | under 95 %, lines 3-5, 9 |" in out
    assert "| total | 1010 | 4 | 99.6 % | |" in out
    assert out.rstrip().endswith("1 module(s) under 95 % of lines: small.py")


def test_a_report_that_measured_nothing_fails(tmp_path: Path) -> None:
    assert main([str(write_report(tmp_path / "c.json", {}))]) == 1


def test_long_runs_of_missing_lines_are_cut_to_the_first_ranges() -> None:
    assert line_ranges(tuple(range(1, 40, 2)), most=3) == "1, 3, 5, … (17 more)"
