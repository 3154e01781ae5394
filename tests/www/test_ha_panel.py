"""The HA panel (www/ha-panel.js) in a stand-in for HA's frontend: what it takes from HA's `hass`
(the user's number and time formats) and from HA's navigation within the panel."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.www.conftest import WWW, wait_while_held, watched_page
from tests.www.datagen import MeterSpec, fixed_now, write_dataset
from tests.www.server import DashboardServer

pytestmark = pytest.mark.browser

NOW = fixed_now()  # Wednesday 25 November 2026, 15:23 in Amsterdam; the manifest is of 15:20
PANEL_HOST = Path(__file__).parent / "panel_host"
TOKEN = "t0k"
NARROW_NBSP = "\u202f"

# The panel's own Chart.js module, and the main chart it draws in its shadow root.
MAIN_CHART = """async () => {
  const { Chart } = await import('/static/vendor/chart.min.js');
  const { shadowRoot } = document.querySelector('powerstats-panel');
  const canvas = shadowRoot.querySelector('#ps-main canvas');
  return Object.values(Chart.instances).find((c) => c.canvas === canvas);
}"""

type OpenPanel = Callable[..., Page]


@pytest.fixture
def open_panel(browser: Browser, data_root: Path) -> Iterator[OpenPanel]:
    """The panel in the stand-in host, in a browser whose own locale is en-GB; `query` adds to
    the panel's address (the host's choice of the user's settings, the meter and level).
    Returned once its view is drawn."""
    mounts = {"static/": WWW, "host/": PANEL_HOST}
    contexts = []
    with DashboardServer(mounts, data_root, data_prefix="api/powerstats/data/", token=TOKEN) as s:

        def open_panel(**query: str) -> Page:
            context = browser.new_context(locale="en-GB", timezone_id="America/New_York")
            contexts.append(context)
            page = context.new_page()
            page.clock.set_fixed_time(datetime.fromtimestamp(NOW, UTC))
            address = urlencode({"module": "/static/ha-panel.js", "token": TOKEN, **query})
            page.goto(f"{s.url}host/index.html?{address}")
            expect(page.locator(".ps")).to_have_attribute("data-state", "ready")
            return page

        yield open_panel
        for context in contexts:
            context.close()


def card(page: Page, stat: str) -> tuple[float, str]:
    """A stat card's value, as computed and as written."""
    value = page.locator(f"[data-stat='{stat}'] .ps-card-value")
    expect(value).to_have_attribute("data-value", re.compile(r"."))
    return float(value.get_attribute("data-value") or "nan"), value.inner_text()


def written(value: float, digits: int, group: str, decimal: str) -> str:
    """`value` with at most `digits` decimals (none trailing), in the given separators."""
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "G").replace(".", decimal).replace("G", group)


@pytest.mark.parametrize(
    ("language", "number_format", "group", "decimal"),
    [
        ("en-GB", "decimal_comma", ".", ","),
        ("en-GB", "space_comma", NARROW_NBSP, ","),
        ("de", "comma_decimal", ",", "."),
        ("de", "none", "", "."),  # as HA writes it: en-US without grouping
        ("de", "system", ",", "."),  # the browser's own: en-GB
    ],
    ids=["decimal_comma", "space_comma", "comma_decimal", "none", "system"],
)
def test_the_panel_writes_numbers_in_the_users_number_format(
    data_root: Path,
    open_panel: OpenPanel,
    language: str,
    number_format: str,
    group: str,
    decimal: str,
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_panel(language=language, number_format=number_format, level="yearly")
    # Cards: a year's energy in whole kWh (thousands), the highest power in kW with decimals.
    energy, shown = card(page, "energy")
    assert energy >= 1000
    assert shown == f"{written(energy, 0, group, decimal)} kWh"
    highest, shown = card(page, "max")
    assert 1000 <= highest < 10000
    assert shown == f"{written(highest / 1000, 2, group, decimal)} kW"
    # The table, the chart's axis and its tooltip.
    page.get_by_text("Show the data as a table").click()
    first = page.locator("#ps-main tbody tr").first.locator("td").first
    expect(first).to_have_text(re.compile(rf"^\d+{re.escape(decimal)}\d+ kWh$"))
    chart = f"""async () => {{
      const chart = await ({MAIN_CHART})();
      return [
        chart.options.scales.y.ticks.callback(2345.6),
        chart.options.plugins.tooltip.callbacks.label(
          {{ dataset: {{ label: 'Energy' }}, raw: 12.34 }}),
      ];
    }}"""
    # The year's bars are sketched by hand until Chart.js is in (js/sketch.js).
    expect(page.locator("powerstats-panel #ps-main canvas")).to_have_attribute(
        "data-drawn", "chart"
    )
    tick, tooltip = page.evaluate(chart)
    assert tick == f"{written(2346, 0, group, decimal)} kWh"
    assert tooltip == f"Energy: 12{decimal}3 kWh"


TWELVE_HOURS = re.compile(r"\b\d\d:\d\d\s?[ap]m\b", re.IGNORECASE)
TWENTY_FOUR_HOURS = re.compile(r"\b\d\d:\d\d\b(?!\s?[ap]m)", re.IGNORECASE)


@pytest.mark.parametrize(
    ("language", "time_format", "clock"),
    [
        ("en-GB", "12", TWELVE_HOURS),
        ("en-US", "24", TWENTY_FOUR_HOURS),
        ("en-US", "system", TWENTY_FOUR_HOURS),  # the browser's own: en-GB
    ],
    ids=["12", "24", "system"],
)
def test_the_panel_writes_times_in_the_users_time_format(
    data_root: Path, open_panel: OpenPanel, language: str, time_format: str, clock: re.Pattern[str]
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_panel(language=language, time_format=time_format, level="daily")
    as_of = page.locator(".ps-asof").inner_text()
    assert clock.search(as_of), as_of
    latest = page.locator("[data-stat='latest'] .ps-card-sub").inner_text()
    assert clock.search(latest), latest
    page.get_by_text("Show the data as a table").click()
    names = page.locator("#ps-main tbody th")
    expect(names.first).to_be_visible()  # the table is filled once it is opened
    times = names.all_inner_texts()
    assert all(clock.search(time) for time in times), times
    chart = f"""async () => {{
      const chart = await ({MAIN_CHART})();
      return [
        chart.scales.x.ticks.map((tick) => tick.label),
        chart.options.plugins.tooltip.callbacks.title([{{ dataIndex: 90 }}]),
      ];
    }}"""
    ticks, tooltip = page.evaluate(chart)
    assert ticks
    assert all(clock.fullmatch(label) for label in ticks), ticks
    assert clock.search(tooltip), tooltip


def test_the_panel_follows_the_user_changing_their_number_format(
    data_root: Path, open_panel: OpenPanel
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_panel(level="yearly")
    energy, shown = card(page, "energy")
    assert shown == f"{written(energy, 0, ',', '.')} kWh"
    # HA hands panels a new `hass` with a new `locale` when the user changes their profile.
    page.evaluate(
        """() => {
          const panel = document.querySelector('powerstats-panel');
          const locale = { ...panel.hass.locale, number_format: 'decimal_comma' };
          panel.hass = { ...panel.hass, locale };
        }"""
    )
    expect(page.locator("[data-stat='energy'] .ps-card-value")).to_have_text(
        f"{written(energy, 0, '.', ',')} kWh"
    )


def test_the_panels_sidebar_entry_and_back_show_the_view_the_address_names(
    data_root: Path, open_panel: OpenPanel
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_panel(level="yearly")
    dashboard = page.locator(".ps")
    expect(dashboard).to_have_attribute("data-level", "yearly")
    # The panel's sidebar entry: HA navigates to the panel's address, without meter and level
    # (the stand-in's own parameters stay).
    bare = "?" + urlencode({"module": "/static/ha-panel.js", "token": TOKEN})
    page.evaluate("(address) => window.hassNavigate(address)", bare)
    expect(dashboard).to_have_attribute("data-level", "daily")
    expect(page.get_by_role("tab", name="Today")).to_have_attribute("aria-selected", "true")
    page.go_back()
    expect(dashboard).to_have_attribute("data-level", "yearly")
    expect(page.get_by_role("tab", name="Last 365 days")).to_have_attribute("aria-selected", "true")


def test_the_panels_menu_bar_shows_whenever_ha_hides_its_sidebar(
    data_root: Path, open_panel: OpenPanel
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_panel()
    toolbar = page.locator("powerstats-panel .ps-ha-toolbar")
    menu = toolbar.locator("ha-menu-button")
    expect(toolbar).to_be_hidden()  # a wide screen, the sidebar docked beside the panel
    # HA hands panels a new `hass` when the user hides the sidebar, and `narrow` on a phone;
    # its own menu button shows itself then, the only way left to the sidebar.
    set_hass = "(changes) => { const p = document.querySelector('powerstats-panel');"
    set_hass += " p.hass = { ...p.hass, ...changes }; }"
    page.evaluate(set_hass, {"dockedSidebar": "always_hidden"})
    expect(toolbar).to_be_visible()
    expect(menu).to_have_count(1)
    page.evaluate(set_hass, {"dockedSidebar": "docked"})
    expect(toolbar).to_be_hidden()
    page.evaluate("() => { document.querySelector('powerstats-panel').narrow = true; }")
    expect(toolbar).to_be_visible()


def test_the_panel_mounts_once_its_stylesheet_is_in_and_draws_in_its_themes_colours(
    browser: Browser, data_root: Path
) -> None:
    """The panel's stylesheet is fetched as it mounts, beside the data, and a stylesheet holds up
    nothing in a shadow root: with the data in first, the dashboard waits for it rather than read
    its colours from an unstyled page (the text colour, for want of the theme's variables)."""
    write_dataset(data_root, [MeterSpec()], NOW)
    mounts = {"static/": WWW, "host/": PANEL_HOST}
    with (
        DashboardServer(mounts, data_root, data_prefix="api/powerstats/data/", token=TOKEN) as s,
        watched_page(browser, NOW) as (page, errors),
    ):
        held: list[Route] = []
        page.route("**/static/styles.css", lambda route: held.append(route))
        address = urlencode({"module": "/static/ha-panel.js", "token": TOKEN})
        page.goto(f"{s.url}host/index.html?{address}&meter=house&level=yearly")
        wanted = {"api/powerstats/data/manifest.json", "api/powerstats/data/house/yearly.json"}
        # Looked for on the server (the panel reads as it mounts), while the stylesheet waits.
        wait_while_held(
            page, lambda: wanted <= {path for path, _ in s.served.requests}, "the data was not read"
        )
        assert held
        assert page.locator(".ps").count() == 0
        for route in held:
            route.continue_()
        expect(page.locator(".ps")).to_have_attribute("data-state", "ready")
        expect(page.locator("#ps-main canvas")).to_have_attribute("data-drawn", "chart")
        bars = page.evaluate(
            f"async () => (await ({MAIN_CHART})()).data.datasets[0].backgroundColor"
        )
        # host.css's --primary-color, which the panel's accent follows.
        assert bars == "rgb(3, 169, 244)"
        assert errors == []
