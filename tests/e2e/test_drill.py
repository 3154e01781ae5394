"""The failure drill, short: a seeded run against the real processes holds every invariant."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e import drill_checks as checks
from tests.e2e.drill import METER_ID, Drill, DrillOptions, DrillReport

DAILY = f"{METER_ID}/daily.json"
WEEKLY = f"{METER_ID}/weekly.json"


@pytest.fixture(scope="module")
def report() -> DrillReport:
    """One short drill (a minute and a quarter of faults, seed 7) shared by the tests below."""
    return Drill(DrillOptions(minutes=1.25, seed=7)).run()


def test_a_short_drill_of_kills_and_github_failures_holds_every_invariant(
    report: DrillReport,
) -> None:
    assert report.held, report.tables()
    assert report.faults["kill"] >= 1, report.tables()
    github = sum(report.faults[k] for k in ("github_5xx", "github_hang", "primary_rate_limit",
                                            "secondary_rate_limit"))  # fmt: skip
    assert github >= 1, report.tables()


def test_the_bucket_check_finds_a_bucket_lost_away_from_any_kill(report: DrillReport) -> None:
    start = _closed_buckets(report, touched=False)[0]
    lost = _with_row(report.local[DAILY], start, kwh=None, mean_w=None, min_w=None, max_w=None,
                     coverage=0)  # fmt: skip
    verdict = checks.check_buckets(lost, report.record)
    assert not verdict.held
    assert str(start) in verdict.detail


def test_the_bucket_check_finds_energy_invented_in_a_bucket_a_kill_touched(
    report: DrillReport,
) -> None:
    start = _closed_buckets(report, touched=True)[0]
    invented = _with_row(report.local[DAILY], start, kwh=99.0)
    verdict = checks.check_buckets(invented, report.record)
    assert not verdict.held
    assert "more than" in verdict.detail


def test_the_rollup_check_finds_an_hour_that_is_not_the_sum_of_its_buckets(
    report: DrillReport,
) -> None:
    # The check compares the hours the weekly file had closed by its `generated` (an hour's
    # start, up to an hour behind the daily file): a bucket of the newest of them is changed.
    weekly = report.local[WEEKLY]
    closed_by = checks.as_of(weekly)
    start = max(
        row["start"] for row in checks.rows_of(weekly)[1] if row["start"] + checks.HOUR <= closed_by
    )
    row = _row(report.local[DAILY], start)
    files = dict(report.local)
    files[DAILY] = _with_row(report.local[DAILY], start, kwh=(row["kwh"] or 0) + 0.01)
    verdict = checks.check_rollups(files)
    assert not verdict.held
    assert "parts sum" in verdict.detail


def _closed_buckets(report: DrillReport, *, touched: bool) -> list[int]:
    """Closed 10-minute buckets touched by a kill (or the meter's start), or untouched ones
    holding energy."""
    daily = report.local[DAILY]
    until = checks.as_of(daily)
    spans = report.record.uncertain()
    found = [
        row["start"]
        for row in checks.rows_of(daily)[1]
        if (row["kwh"] or touched)
        and row["start"] + checks.TEN_MINUTES <= until
        and any(row["start"] < b and a < row["start"] + checks.TEN_MINUTES for a, b in spans)
        == touched
    ]
    assert found, "the drill left no such bucket to tamper with"
    return found


def _row(daily: bytes, start: int) -> dict[str, Any]:
    return next(row for row in checks.rows_of(daily)[1] if row["start"] == start)


def _with_row(daily: bytes, start: int, **changes: Any) -> bytes:
    """The daily file with one row's cells changed (by column name)."""
    document = json.loads(daily)
    names = document["columns"]
    for row in document["rows"]:
        if row[0] == start:
            for name, value in changes.items():
                row[names.index(name)] = value
    return json.dumps(document).encode()
