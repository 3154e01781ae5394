"""The sketch (www/js/sketch.js): a chart of day bars drawn by hand until Chart.js is in. Drawn
from the same configuration, it must be Chart.js's picture, so that Chart.js drawing over it moves
nothing; and the page must show it without waiting for Chart.js."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Position, Route, expect

from tests.www.conftest import OpenDashboard
from tests.www.datagen import MeterSpec, fixed_now, write_dataset
from tests.www.server import DashboardServer

pytestmark = pytest.mark.browser

NOW = fixed_now()

# In the dashboard's page (its fonts and colours): the view's file through the dashboard's own
# reader, drawn from one configuration twice, by the sketch and by Chart.js, on canvases in boxes
# of the same size; how many pixels differ, and by how much at most.
SIDE_BY_SIDE = """async ({ level, width, height, variant }) => {
  const at = (path) => import(new URL(path, document.baseURI));
  const { DataSource } = await at('js/data.js');
  const { mainChartConfig, themeColors } = await at('js/charts.js');
  const { sketch } = await at('js/sketch.js');
  const { Chart } = await at('vendor/chart.min.js');
  const source = new DataSource();
  const meter = (await source.manifest()).meters[0];
  const { file } = await source.level(meter, level);
  const col = file.col.kwh;
  const change = {
    as_is: (row) => row,
    all_zero: (row) => row.map((v, i) => (i === col ? 0 : v)),
    all_missing: (row) => row.map((v, i) => (i === col ? null : v)),
    large: (row, i) => row.map((v, j) => (j === col && v !== null ? v * 1234.5 + i : v)),
    small: (row) => row.map((v, j) => (j === col && v !== null ? v / 3000 : v)),
    gaps: (row, i) => row.map((v, j) => (j === col && i % 7 === 3 ? null : v)),
  }[variant];
  const rows = file.rows.map(change);
  const page = document.querySelector('.ps');
  const colors = themeColors(page);
  const zone = { colors, timeZone: meter.timezone };
  const config = () => mainChartConfig({ ...file, rows }, null, zone);
  const canvas = () => {
    const box = document.createElement('div');
    box.style.cssText = `position: relative; width: ${width}px; height: ${height}px`;
    const element = document.createElement('canvas');
    box.append(element);
    page.append(box);
    return element;
  };
  const [hand, chartjs] = [canvas(), canvas()];
  const sketched = sketch(hand, config());
  const chart = new Chart(chartjs, config());
  const read = (c) => c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const [a, b] = [read(hand), read(chartjs)];
  let differing = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i += 4) {
    const d = Math.max(...[0, 1, 2, 3].map((k) => Math.abs(a[i + k] - b[i + k])));
    if (d > 0) differing += 1;
    worst = Math.max(worst, d);
  }
  return {
    sketched,
    sizes: [hand, chartjs].flatMap((c) => [c.width, c.height, c.style.width]),
    ticks: chart.scales.x.ticks.length,
    differing,
    worst,
  };
}"""


@pytest.mark.parametrize(
    ("level", "width", "height", "scale"),
    [
        ("yearly", 1100, 340, 1),
        ("yearly", 366, 250, 3),
        ("yearly", 700, 340, 2),
        ("monthly", 1100, 340, 1),
        ("monthly", 366, 250, 2),
    ],
)
@pytest.mark.parametrize("variant", ["as_is", "all_zero", "all_missing", "large", "small", "gaps"])
def test_the_sketch_is_chartjs_picture_to_the_pixel(
    data_root: Path,
    server: DashboardServer,
    browser: Browser,
    level: str,
    width: int,
    height: int,
    scale: int,
    variant: str,
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    context = browser.new_context(device_scale_factor=scale, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(server.url + "#level=" + level)
        expect(page.locator(".ps")).to_have_attribute("data-state", "ready")
        found: dict[str, Any] = page.evaluate(
            SIDE_BY_SIDE, {"level": level, "width": width, "height": height, "variant": variant}
        )
    finally:
        context.close()
    assert found["sketched"] is True
    assert found["ticks"] > 1
    hand, chartjs = found["sizes"][:3], found["sizes"][3:]
    assert hand == chartjs
    assert found["differing"] == 0, found


def test_a_year_is_shown_sketched_before_chartjs_is_in_and_chartjs_takes_it_over(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    """Chart.js held back: the year's bars are on screen and the view says it is ready; once
    Chart.js arrives it draws over the sketch, with its tooltips, and the canvas keeps its size."""
    write_dataset(data_root, [MeterSpec()], NOW)
    held: list[Route] = []
    context = browser.new_context()
    try:
        page = context.new_page()
        page.route("**/vendor/chart.min.js", lambda route: held.append(route))
        page.goto(server.url + "#level=yearly")
        canvas = page.locator("#ps-main canvas")
        expect(page.locator(".ps")).to_have_attribute("data-state", "ready")
        expect(canvas).to_have_attribute("data-drawn", "sketch")
        box = canvas.bounding_box()
        assert box is not None
        inked = """() => {
          const canvas = document.querySelector('#ps-main canvas');
          const { width, height } = canvas;
          const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
          let count = 0;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) count += 1;
          return count;
        }"""
        assert page.evaluate(inked) > 10_000
        # Asked for once the sketch was up, and held: its route reaches this side as Playwright
        # dispatches the page's events, which each call into the page lets it do.
        deadline = time.monotonic() + 30
        while not held:
            assert time.monotonic() < deadline, "the page never asked for Chart.js"
            page.evaluate("0")
        assert len(held) == 1
        held[0].continue_()
        expect(canvas).to_have_attribute("data-drawn", "chart")
        assert canvas.bounding_box() == box
        canvas.hover(position=Position(x=box["width"] * 0.6, y=box["height"] * 0.5))
        # Chart.js handles the pointer at its next animation frame: looked for until it shows.
        tooltip = """async () => {
          const { Chart } = await import(new URL('vendor/chart.min.js', document.baseURI));
          return Chart.getChart(document.querySelector('#ps-main canvas')).tooltip.opacity;
        }"""
        deadline = time.monotonic() + 30
        while page.evaluate(tooltip) != 1:
            assert time.monotonic() < deadline, "no tooltip over the bars Chart.js drew"
    finally:
        context.close()


def test_a_line_chart_is_not_sketched_and_waits_for_chartjs(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_dashboard(url="#level=weekly").page
    # Ready only once Chart.js has drawn it: lines are not sketched.
    expect(page.locator(".ps")).to_have_attribute("data-state", "ready")
    assert page.locator("#ps-main canvas").get_attribute("data-drawn") == "chart"
