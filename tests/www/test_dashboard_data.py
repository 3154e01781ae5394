"""The dashboard's reader: files the contract calls bad are refused, as a malformed file is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.www.conftest import OpenDashboard
from tests.www.datagen import MeterSpec, fixed_now, write_dataset

pytestmark = pytest.mark.browser

NOW = fixed_now()
BAD = sorted((Path(__file__).resolve().parents[2] / "schemas" / "examples" / "bad").glob("*.json"))
NO_DATA = {
    "daily": "No data for today is available right now.",
    "monthly": "No data for the last 30 days is available right now.",
    "yearly": "No data for the last 365 days is available right now.",
}

# What the page's own data.js says of a document: the message it refuses it with, or null.
READ = """async ([doc, manifest]) => {
  const data = await import(new URL('js/data.js', document.baseURI));
  try {
    if (manifest) data.parseManifest(doc);
    else {
      const level = data.LEVELS.includes(doc.level) ? doc.level : 'daily';
      data.parseLevelFile(doc, level, doc.meter?.id ?? 'house', `house/${level}.json`);
    }
    return null;
  } catch (error) {
    if (!(error instanceof data.DataError)) throw error;
    return error.message;
  }
}"""


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_the_dashboard_refuses_every_example_the_contract_calls_bad(
    data_root: Path, open_dashboard: OpenDashboard, path: Path
) -> None:
    write_dataset(data_root, [MeterSpec(levels=("monthly",))], NOW)
    opened = open_dashboard()
    document = json.loads(path.read_bytes())
    refusal = opened.page.evaluate(READ, [document, path.name.startswith("manifest")])
    assert refusal is not None, f"{path.name} was accepted"


def test_a_level_file_with_two_columns_of_one_name_is_not_shown_and_says_why(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec(levels=("daily", "monthly"))], NOW)
    monthly = dataset.documents["house/monthly.json"]
    # A second kwh column, a thousand kWh a day: whichever the reader took, one is wrong.
    monthly["columns"].append("kwh")
    for row in monthly["rows"]:
        row.append(None if row[1] is None else 1000.0)
    dataset.rewrite("house/monthly.json")
    opened = open_dashboard(url="#meter=house&level=monthly")
    expect(opened.page.get_by_text("the column kwh appears twice")).to_be_visible()
    expect(opened.page.get_by_text(NO_DATA["monthly"])).to_be_visible()


def test_a_level_file_with_measurements_in_a_bucket_without_coverage_is_not_shown_and_says_why(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec(levels=("daily", "yearly"))], NOW)
    dataset.rows("house", "yearly")[100][5] = 0.0  # its energy and power are left in
    dataset.rewrite("house/yearly.json")
    opened = open_dashboard(url="#meter=house&level=yearly")
    expect(opened.page.get_by_text("row 101 has no coverage but has measurements")).to_be_visible()
    expect(opened.page.get_by_text(NO_DATA["yearly"])).to_be_visible()


@pytest.mark.parametrize(
    ("level", "column", "value"),
    [
        ("yearly", "kwh", 1.7e308),  # the largest float: Chart.js's scale never finished
        ("daily", "mean_w", -1.7e308),
        ("monthly", "cost", 1e16),
    ],
)
def test_a_level_file_with_a_number_no_meter_reaches_is_not_shown_and_says_why(
    data_root: Path, open_dashboard: OpenDashboard, level: str, column: str, value: float
) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    rows = dataset.rows("house", level)
    at = dataset.columns("house", level).index(column)
    # The newest bucket with data: on the chart whatever the view (Today draws only today).
    number = max(i for i, row in enumerate(rows) if row[at] is not None)
    rows[number][at] = value
    dataset.rewrite(f"house/{level}.json")
    opened = open_dashboard(url=f"#meter=house&level={level}")
    expect(
        opened.page.get_by_text(
            f"row {number + 1}, column {column} holds a number too large to be real"
        )
    ).to_be_visible()
    expect(opened.page.get_by_text(NO_DATA[level])).to_be_visible()
