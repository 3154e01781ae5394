"""Line coverage per module from a coverage.py JSON report, as a table, against a threshold.

coverage.py can fail a run on the total only; a well-covered module then hides a poorly covered
one. This fails when any single module is under the threshold, and says which.

Usage: python scripts/coverage_table.py REPORT.json [--min PERCENT]   (exit 1 when one is under)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModuleCoverage:
    """One module's statements, and those the tests never ran."""

    path: str
    statements: int
    missing: tuple[int, ...]

    @property
    def percent(self) -> float:
        if self.statements == 0:
            return 100.0
        return 100.0 * (self.statements - len(self.missing)) / self.statements


def read_report(path: Path) -> list[ModuleCoverage]:
    """The modules of a `coverage json` report, sorted by path."""
    report = json.loads(path.read_text(encoding="utf-8"))
    modules = [
        ModuleCoverage(
            path=name,
            statements=int(data["summary"]["num_statements"]),
            missing=tuple(int(line) for line in data["missing_lines"]),
        )
        for name, data in report["files"].items()
    ]
    return sorted(modules, key=lambda module: module.path)


def line_ranges(lines: tuple[int, ...], most: int = 8) -> str:
    """1, 2, 3, 7 → '1-3, 7': the lines to look at, the first `most` ranges of them."""
    ranges: list[str] = []
    start = previous = None
    for line in [*sorted(lines), None]:
        if line is not None and previous is not None and line == previous + 1:
            previous = line
            continue
        if start is not None:
            ranges.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = line
    more = f", … ({len(ranges) - most} more)" if len(ranges) > most else ""
    return ", ".join(ranges[:most]) + more


def table(modules: list[ModuleCoverage], minimum: float) -> list[str]:
    """A markdown table: every module, its coverage, and the lines not run when under."""
    rows = ["| module | statements | not run | lines | |", "|---|---:|---:|---:|---|"]
    for module in modules:
        under = module.percent < minimum
        mark = f"under {minimum:g} %, lines {line_ranges(module.missing)}" if under else ""
        rows.append(
            f"| {module.path} | {module.statements} | {len(module.missing)}"
            f" | {module.percent:.1f} % | {mark} |"
        )
    statements = sum(module.statements for module in modules)
    missing = sum(len(module.missing) for module in modules)
    total = 100.0 * (statements - missing) / statements if statements else 100.0
    rows.append(f"| total | {statements} | {missing} | {total:.1f} % | |")
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a coverage.py JSON report")
    parser.add_argument("--min", type=float, default=95.0, help="percent of lines per module")
    args = parser.parse_args(argv)
    modules = read_report(args.report)
    if not modules:
        print(f"{args.report}: no module measured; was the run given --cov?")
        return 1
    print("\n".join(table(modules, args.min)))
    under = [module.path for module in modules if module.percent < args.min]
    if under:
        print(f"{len(under)} module(s) under {args.min:g} % of lines: {', '.join(under)}")
        return 1
    print(f"every module has at least {args.min:g} % of its lines covered")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
