"""The dashboard for someone on a keyboard, a screen reader, a phone, or with low vision, and
what it says when there is nothing to show."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.www.conftest import PAST_THE_INTERVAL_MS, OpenDashboard
from tests.www.datagen import LEVELS, MeterSpec, fixed_now, write_dataset
from tests.www.server import DashboardServer
from tests.www.test_dashboard import drawn_by_chartjs

pytestmark = pytest.mark.browser

NOW = fixed_now()
# A name with nowhere to break a line: the longest word a meter's name may be.
UNBROKEN_NAME = "Wärmepumpenaußeneinheitkellergeschosszählerschranknordseitehauptverteilung"
NOTHING_MEASURED: dict[str, Collection[int]] = {level: range(0, 100_000) for level in LEVELS}

# Counts every change under an element from now on, in window.psChanges.
COUNT_CHANGES = """(element) => {
  window.psChanges = 0;
  new MutationObserver((records) => { window.psChanges += records.length; })
    .observe(element, { childList: true, characterData: true, subtree: true });
}"""


type OpenOnClock = Callable[[], Page]


@pytest.fixture
def open_on_clock(browser: Browser, server: DashboardServer) -> Iterator[OpenOnClock]:
    """The dashboard on the browser's own clock (installed at the data's "now"), so a test can
    move it to the next re-read; returned once its first read is done."""
    contexts = []

    def open_on_clock() -> Page:
        context = browser.new_context(locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.clock.install(time=datetime.fromtimestamp(NOW, UTC))
        page.goto(server.url)
        expect(page.locator(".ps")).to_have_attribute("data-reads", "1")
        return page

    yield open_on_clock
    for context in contexts:
        context.close()


def reread(page: Page) -> None:
    """Move the page's clock past the writer's interval and wait for its second read."""
    page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    expect(page.locator(".ps")).to_have_attribute("data-reads", "2")


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG 2's contrast ratio of two sRGB colours (0-255 channels)."""

    def luminance(rgb: tuple[float, ...]) -> float:
        linear = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
            for c in (v / 255 for v in rgb[:3])
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def parse_color(css: str) -> tuple[float, ...]:
    """rgb() or rgba() as (r, g, b, alpha)."""
    channels = [float(v) for v in re.findall(r"[\d.]+", css)]
    return (*channels[:3], channels[3] if len(channels) > 3 else 1.0)


def over(color: tuple[float, ...], background: tuple[float, ...]) -> tuple[float, ...]:
    """A translucent colour as it shows over an opaque background."""
    alpha = color[3]
    pairs = zip(color[:3], background[:3], strict=True)
    return tuple(alpha * c + (1 - alpha) * b for c, b in pairs)


# --- Keyboard ---------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [360, 1280])
def test_a_focused_tabs_ring_is_whole_inside_the_strip_that_clips_it(
    data_root: Path, open_dashboard: OpenDashboard, width: int
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_dashboard(width=width).page
    page.keyboard.press("Tab")
    tab = page.get_by_role("tab", name="Today")
    expect(tab).to_be_focused()
    # The strip scrolls sideways, so it cuts off whatever of the ring lies outside it.
    ring_inside = tab.evaluate("""(tab) => {
      const style = getComputedStyle(tab);
      const reach = parseFloat(style.outlineWidth) + parseFloat(style.outlineOffset);
      const ring = tab.getBoundingClientRect();
      const strip = tab.parentElement.getBoundingClientRect();
      return style.outlineStyle !== 'none' && ring.top - reach >= strip.top
        && ring.bottom + reach <= strip.bottom && ring.left - reach >= strip.left;
    }""")
    assert ring_inside


def test_the_data_table_scrolls_in_a_named_region_the_keyboard_reaches(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_dashboard(url="#meter=house&level=yearly").page
    summary = page.get_by_text("Show the data as a table")
    summary.focus()
    page.keyboard.press("Enter")
    region = page.get_by_role("region", name="Every value of the chart")
    # The table is built when the box opens (a toggle event): Tab only once it is there.
    expect(region).to_be_visible()
    page.keyboard.press("Tab")
    expect(region).to_be_focused()
    page.keyboard.press("PageDown")
    page.wait_for_function(
        "() => document.querySelector('.ps-table-scroll').scrollTop > 0", polling="raf"
    )


# --- Screen readers -------------------------------------------------------------------------


def test_the_stat_cards_read_as_a_list_one_item_per_card(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_dashboard().page
    cards = page.get_by_role("tabpanel").get_by_role("list").first.get_by_role("listitem")
    expect(cards).to_have_count(6)
    expect(cards.first).to_have_text(re.compile(r"^Latest power\s*\d"))
    expect(page.locator(".ps-empty")).to_be_hidden()


def test_the_staleness_warning_is_not_rewritten_by_a_reread_that_leaves_its_words(
    data_root: Path, open_on_clock: OpenOnClock
) -> None:
    # A live region: each rewrite, even to the same words, may be read out again.
    write_dataset(data_root, [MeterSpec()], NOW, generated=NOW - 3 * 86400, refresh_seconds=600)
    page = open_on_clock()
    warning = page.get_by_role("status").filter(has_text="The data is older than expected")
    expect(warning).to_contain_text("3 days ago")
    warning.evaluate(COUNT_CHANGES)
    reread(page)
    expect(warning).to_contain_text("3 days ago")
    assert page.evaluate("window.psChanges") == 0


def test_a_failing_first_read_is_not_announced_again_at_each_retry(
    data_root: Path, open_on_clock: OpenOnClock
) -> None:
    page = open_on_clock()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("could not be fetched (HTTP 404)")
    alert.evaluate(COUNT_CHANGES)
    reread(page)
    expect(alert).to_be_visible()
    assert page.evaluate("window.psChanges") == 0


def test_an_error_about_a_file_names_it_as_it_is_spelt(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    page = open_dashboard(state="error").page  # no manifest at all
    expect(page.get_by_role("alert")).to_have_text(
        "manifest.json could not be fetched (HTTP 404); check that the data source serves it."
    )


def test_a_page_with_no_tab_to_show_has_no_empty_tablist(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    page = open_dashboard(state="error").page  # no manifest at all
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("tablist")).to_have_count(0)


# --- Narrow screens -------------------------------------------------------------------------


def test_a_long_meter_name_wraps_instead_of_widening_the_page(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec(name=UNBROKEN_NAME)], NOW)
    page = open_dashboard(width=320).page
    name = page.locator(".ps-meter-name")
    expect(name).to_have_text(UNBROKEN_NAME)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert name.evaluate("(name) => name.getBoundingClientRect().right <= innerWidth")


@pytest.mark.parametrize("width", [320, 360, 390])
def test_the_meter_list_opens_whole_on_a_phone_screen(
    data_root: Path, open_dashboard: OpenDashboard, width: int
) -> None:
    meters = [MeterSpec(name=UNBROKEN_NAME), MeterSpec(id="garage", name="Garage", scale=0.3)]
    write_dataset(data_root, meters, NOW)
    page = open_dashboard(width=width).page
    page.get_by_role("combobox", name="Meter").click()
    listbox = page.get_by_role("listbox", name="Meters")
    expect(listbox).to_be_visible()
    box = page.locator(".ps-picker-popup").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width


# --- Colours --------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chart_text_and_bars_stand_out_from_the_card_in_either_scheme(
    data_root: Path, open_dashboard: OpenDashboard, scheme: str
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_dashboard(color_scheme=scheme, url="#meter=house&level=monthly").page
    page.wait_for_selector(".ps[data-others='ready']")
    drawn_by_chartjs(page, "#ps-main", "#ps-averages")
    colors = page.evaluate("""async () => {
      const { Chart } = await import(new URL('vendor/chart.min.js', document.baseURI));
      const chart = (id) => Chart.getChart(document.querySelector(`#${id} canvas`));
      const averages = chart('ps-averages');
      const muted = (selector) => getComputedStyle(document.querySelector(selector)).color;
      return {
        card: getComputedStyle(document.querySelector('#ps-main')).backgroundColor,
        page: getComputedStyle(document.querySelector('.ps')).backgroundColor,
        ticks: [
          chart('ps-main').options.scales.x.ticks.color, averages.options.scales.y.ticks.color,
        ],
        bars: averages.data.datasets[0].backgroundColor,
        onCard: [muted('.ps-card-sub'), muted('.ps-card-label')],
        onPage: [muted('.ps-asof'), muted('.ps-tab[aria-selected="false"]')],
      };
    }""")
    card = parse_color(colors["card"])
    backdrop = parse_color(colors["page"])
    for text in [*colors["ticks"], *colors["onCard"]]:
        assert contrast(parse_color(text), card) >= 4.5, text
    for text in colors["onPage"]:
        assert contrast(parse_color(text), backdrop) >= 4.5, text
    # Every period's bar, the current one and the lighter others: 3:1 for a graphic.
    assert len(colors["bars"]) == 4
    for bar in colors["bars"]:
        assert contrast(over(parse_color(bar), card), card) >= 3, bar


# --- Nothing to show ------------------------------------------------------------------------


def test_a_meter_with_nothing_measured_yet_says_so_in_words(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec(gaps=NOTHING_MEASURED)], NOW)
    page = open_dashboard().page
    expect(page.get_by_text("Nothing has been measured today yet.")).to_be_visible()
    expect(page.locator("[data-stat='mean'] .ps-card-sub")).to_have_text("no data")
    expect(page.locator("#ps-main canvas")).to_have_attribute(
        "aria-label", re.compile(r"^Line chart of mean power, with nothing measured, from ")
    )
    page.get_by_role("tab", name="Last 365 days").click()
    expect(page.get_by_text("Nothing was measured in the last 365 days.")).to_be_visible()
    expect(page.locator("#ps-main canvas")).to_have_attribute(
        "aria-label", re.compile(r"^Bar chart of energy per day, with nothing measured, from ")
    )


def test_a_view_whose_file_is_missing_offers_nothing_to_compare_or_download(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    (data_root / "house" / "monthly.json").unlink()
    page = open_dashboard(url="#meter=house&level=monthly").page
    expect(page.get_by_text("No data for the last 30 days is available right now.")).to_be_visible()
    expect(page.get_by_text("house/monthly.json could not be fetched (HTTP 404)")).to_be_visible()
    expect(page.get_by_role("button", name="Download CSV")).to_be_hidden()
    expect(page.get_by_label("Compare with previous period")).to_be_hidden()
    expect(page.get_by_role("tabpanel").get_by_role("list")).to_have_count(0)
    # Back on a view with data, both are there again.
    page.get_by_role("tab", name="Last 365 days").click()
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
    expect(page.get_by_label("Compare with previous period")).to_be_visible()
