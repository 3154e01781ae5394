"""The dashboard when reads hang, data changes under someone using it, or its host goes away.

Time is the browser's own clock, moved by the test; a read held back is either never answered
(a Playwright route left unhandled) or held in the page until the test lets it go (HOLD_READS).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.www.conftest import (
    PAST_THE_INTERVAL_MS,
    TWO_FRAMES,
    WWW,
    wait_while_held,
    watched_page,
)
from tests.www.datagen import MeterSpec, fixed_now, write_dataset
from tests.www.server import DashboardServer

pytestmark = pytest.mark.browser

NOW = fixed_now()
PANEL_HOST = Path(__file__).parent / "panel_host"
PANEL_PAGE = "host/index.html?module=/static/ha-panel.js&token=t0k"
# The page gives up on a read after 20 s of its clock.
READ_TIMEOUT_MS = 20 * 1000

# The page's reads of a path added to window.psHold wait until window.psRelease(path). Every
# read the page starts is listed in the document's data-started, where a test can wait on it.
HOLD_READS = """(() => {
  window.psHold = new Set();
  const held = new Map();
  const pageFetch = window.fetch;
  window.fetch = (resource, init) => {
    const root = document.documentElement;
    root.dataset.started = `${root.dataset.started ?? ''} ${new URL(resource, location).pathname}`;
    const path = [...window.psHold].find((p) => String(resource).endsWith(p));
    if (!path) return pageFetch(resource, init);
    return new Promise((resolve) => { held.set(path, () => resolve(pageFetch(resource, init))); });
  };
  window.psRelease = (path) => { window.psHold.delete(path); held.get(path)(); };
})();"""

# The panel's own Chart.js module, for the charts it holds.
PANEL_CHARTS = "(await import('/static/vendor/chart.min.js')).Chart.instances"


def never_answer(route: Route) -> None:
    """A server that takes the request and never answers."""


type OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """A page at `url` on the browser's clock (installed at the data's "now"), whose reads the
    test can hold, and whose reads of `unanswered` (a URL pattern) never get an answer;
    returned once its first view is drawn."""
    contexts = []

    def open_page(url: str, unanswered: str | None = None) -> Page:
        context = browser.new_context(locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(HOLD_READS)
        if unanswered:
            page.route(unanswered, never_answer)
        page.clock.install(time=datetime.fromtimestamp(NOW, UTC))
        page.goto(url)
        expect(page.locator(".ps")).to_have_attribute("data-state", "ready")
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def panel_server(data_root: Path) -> Iterator[DashboardServer]:
    """The HA panel in a stand-in for HA's frontend, data behind the host's token."""
    mounts = {"static/": WWW, "host/": PANEL_HOST}
    with DashboardServer(mounts, data_root, data_prefix="api/powerstats/data/", token="t0k") as s:
        yield s


def test_a_manifest_read_that_never_answers_is_abandoned_and_the_page_reads_again(
    data_root: Path, server: DashboardServer, open_page: OpenPage
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    page = open_page(server.url)
    dashboard = page.locator(".ps")
    expect(dashboard).to_have_attribute("data-reads", "1")
    page.route("**/manifest.json", never_answer)
    page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    page.clock.run_for(READ_TIMEOUT_MS)
    expect(dashboard).to_have_attribute("data-reads", "2")
    expect(
        page.get_by_text("Could not refresh: manifest.json could not be fetched (it took longer")
    ).to_be_visible()
    page.unroute("**/manifest.json")
    page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    expect(dashboard).to_have_attribute("data-reads", "3")
    expect(page.get_by_text("Could not refresh")).to_be_hidden()


def test_another_levels_file_that_never_answers_does_not_hold_the_views_refresh(
    data_root: Path, server: DashboardServer, open_page: OpenPage
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    page = open_page(server.url, unanswered="**/house/yearly.json")
    dashboard = page.locator(".ps")
    # Today is drawn and its read counted while the 365-day file is still on its way.
    expect(dashboard).to_have_attribute("data-reads", "1")
    # Asked for (it is read after the other levels' files): its 20 s count from now.
    started = re.compile(r"/house/yearly\.json\b")
    expect(page.locator("html")).to_have_attribute("data-started", started)
    page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    expect(dashboard).to_have_attribute("data-reads", "2")
    expect(
        page.get_by_text("house/yearly.json could not be fetched (it took longer")
    ).to_be_visible()


def test_the_staleness_warning_shows_when_the_data_turns_stale_between_reads(
    data_root: Path, server: DashboardServer, open_page: OpenPage
) -> None:
    # Refreshed every 600 s, the data is older than expected after 2 * 600 + 300 s: between the
    # reads at 1200 and 1800 s.
    write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    page = open_page(server.url)
    dashboard = page.locator(".ps")
    expect(dashboard).to_have_attribute("data-reads", "1")
    warning = page.get_by_text("The data is older than expected")
    for reads in ("2", "3"):
        page.clock.fast_forward(PAST_THE_INTERVAL_MS)
        expect(dashboard).to_have_attribute("data-reads", reads)
        expect(warning).to_be_hidden()
    page.clock.run_for(300 * 1000)
    expect(warning).to_be_visible()


def test_a_focused_tab_keeps_the_focus_through_a_reread(
    data_root: Path, server: DashboardServer, open_page: OpenPage
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    page = open_page(server.url)
    page.keyboard.press("Tab")
    today = page.get_by_role("tab", name="Today")
    expect(today).to_be_focused()
    page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    expect(page.locator(".ps")).to_have_attribute("data-reads", "2")
    expect(today).to_be_focused()


def test_enter_and_space_on_the_selected_tab_leave_the_focus_on_it(
    data_root: Path, server: DashboardServer, open_page: OpenPage
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_page(server.url)
    page.keyboard.press("Tab")
    today = page.get_by_role("tab", name="Today")
    for key in ("Enter", " "):
        page.keyboard.press(key)
        expect(today).to_be_focused()


def test_an_arrow_key_moves_the_focus_at_once_while_another_file_is_on_its_way(
    data_root: Path, server: DashboardServer, open_page: OpenPage
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_page(server.url, unanswered="**/house/yearly.json")
    expect(page.locator(".ps")).to_have_attribute("data-level", "daily")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="This week")).to_be_focused()
    expect(page.locator(".ps")).to_have_attribute("data-level", "weekly")


def test_new_data_leaves_the_table_open_and_the_compare_box_on_and_focused(
    data_root: Path, server: DashboardServer, open_page: OpenPage
) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    page = open_page(server.url + "#meter=house&level=monthly")
    compare = page.get_by_label("Compare with previous period")
    expect(compare).to_be_enabled()
    page.get_by_text("Show the data as a table").click()
    compare.check()
    expect(compare).to_be_focused()
    energy = page.locator("[data-stat='energy'] .ps-card-value")
    drawn = energy.get_attribute("data-value")
    # Today's energy so far grows: a new version of the 30-day file.
    rows = dataset.rows("house", "monthly")
    rows[-1][dataset.columns("house", "monthly").index("kwh")] += 1.5
    dataset.rewrite("house/monthly.json")
    page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    expect(page.locator(".ps")).to_have_attribute("data-reads", "2")
    expect(energy).not_to_have_attribute("data-value", drawn or "")
    expect(page.locator("#ps-main details")).to_have_attribute("open", "")
    expect(page.get_by_role("table")).to_be_visible()
    expect(compare).to_be_enabled()
    expect(compare).to_be_checked()
    expect(compare).to_be_focused()


def test_a_file_rewritten_within_the_second_it_was_written_is_read_anew(
    data_root: Path, open_page: OpenPage
) -> None:
    # A host that gives no ETag revalidates by Last-Modified, which is to the second: a kept
    # copy must not be revalidated when the manifest already says the file has changed.
    dataset = write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    monthly = data_root / "house" / "monthly.json"
    with DashboardServer(WWW, data_root, etags=False) as server:
        page = open_page(server.url + "#meter=house&level=monthly")
        energy = page.locator("[data-stat='energy'] .ps-card-value")
        expect(energy).to_have_attribute("data-value", re.compile("."))
        drawn = energy.get_attribute("data-value")
        written = monthly.stat().st_mtime
        rows = dataset.rows("house", "monthly")
        rows[-1][dataset.columns("house", "monthly").index("kwh")] += 1.5
        dataset.rewrite("house/monthly.json")
        os.utime(monthly, (written, written))  # the same Last-Modified as the copy kept
        later = written + 2  # the manifest's re-read must see it changed, as a later write is
        os.utime(data_root / "manifest.json", (later, later))
        page.clock.fast_forward(PAST_THE_INTERVAL_MS)
        expect(page.locator(".ps")).to_have_attribute("data-reads", "2")
        expect(energy).not_to_have_attribute("data-value", drawn or "")
        expect(page.locator(".ps-notes")).not_to_contain_text("does not match")


def test_a_change_of_view_leaves_notes_that_stay_the_same_untouched(
    data_root: Path, server: DashboardServer, open_page: OpenPage
) -> None:
    # The notes are a live region: a note put in again is read out again.
    write_dataset(data_root, [MeterSpec()], NOW, tampered=frozenset({"house/yearly.json"}))
    page = open_page(server.url)
    dashboard = page.locator(".ps")
    expect(dashboard).to_have_attribute("data-loaded", "house/daily")
    notes = page.locator(".ps-notes")
    expect(notes).to_contain_text("house/yearly.json does not match its size or checksum")
    notes.evaluate(
        """(notes) => {
          window.noteChanges = [];
          new MutationObserver((changes) => window.noteChanges.push(...changes))
            .observe(notes, { childList: true, subtree: true, characterData: true });
        }"""
    )
    page.get_by_role("tab", name="This week").click()
    expect(dashboard).to_have_attribute("data-loaded", "house/weekly")
    assert page.evaluate("window.noteChanges.length") == 0
    expect(notes).to_contain_text("house/yearly.json does not match its size or checksum")


def test_another_meter_shows_it_is_loading_until_its_data_is_drawn(
    data_root: Path, server: DashboardServer, open_page: OpenPage
) -> None:
    garage = MeterSpec(id="garage", name="Garage", scale=5.0)
    write_dataset(data_root, [MeterSpec(), garage], NOW)
    page = open_page(server.url)
    expect(page.locator(".ps")).to_have_attribute("data-loaded", "house/daily")
    page.evaluate("window.psHold.add('garage/daily.json')")
    picker = page.get_by_role("combobox", name="Meter")
    picker.fill("garage")
    picker.press("Enter")
    panel = page.get_by_role("tabpanel")
    loading = page.get_by_text("Loading…")
    expect(panel).to_have_attribute("aria-busy", "true")
    expect(loading).to_be_visible()
    page.evaluate("window.psRelease('garage/daily.json')")
    expect(page.locator(".ps")).to_have_attribute("data-loaded", "garage/daily")
    expect(panel).to_have_attribute("aria-busy", "false")
    expect(loading).to_be_hidden()


def test_a_panel_detached_while_reading_draws_and_reads_nothing_more(
    data_root: Path, panel_server: DashboardServer, open_page: OpenPage
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW, refresh_seconds=600)
    page = open_page(panel_server.url + PANEL_PAGE)
    expect(page.locator(".ps")).to_have_attribute("data-others", "ready")
    page.evaluate("window.psHold.add('manifest.json')")
    page.clock.fast_forward(PAST_THE_INTERVAL_MS)
    # HA shows another panel while the re-read is on its way; new data is published meanwhile.
    # Its count of finished reads is mirrored in the document, where the test can wait on it.
    page.locator("powerstats-panel .ps").evaluate(
        """(dashboard) => {
          const mirror = document.body.appendChild(document.createElement('output'));
          new MutationObserver(() => { mirror.dataset.reads = dashboard.dataset.reads; })
            .observe(dashboard, { attributeFilter: ['data-reads'] });
          document.querySelector('powerstats-panel').remove();
        }"""
    )
    write_dataset(data_root, [MeterSpec()], NOW + 3600, refresh_seconds=600)
    requests = len(panel_server.served.requests)
    page.evaluate("window.psRelease('manifest.json')")
    expect(page.locator("output")).to_have_attribute("data-reads", "2")
    read = [path for path, _ in panel_server.served.requests[requests:]]
    assert read == ["api/powerstats/data/manifest.json"]
    detached = (
        f"async () => Object.values({PANEL_CHARTS}).filter((c) => !c.canvas.isConnected).length"
    )
    assert page.evaluate(detached) == 0


def test_a_dashboard_that_cannot_be_loaded_says_so(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    context = browser.new_context()
    page = context.new_page()
    page.route("**/js/dashboard.js", lambda route: route.abort("connectionreset"))
    page.goto(server.url)
    expect(page.get_by_text("The PowerStats dashboard could not be loaded")).to_be_visible()
    context.close()


@pytest.mark.parametrize("failure", ["connectionreset", "404"])
@pytest.mark.parametrize("host", ["page", "panel"])
def test_a_stylesheet_that_cannot_be_loaded_leaves_the_dashboard_working_unstyled(
    data_root: Path,
    server: DashboardServer,
    panel_server: DashboardServer,
    browser: Browser,
    host: str,
    failure: str,
) -> None:
    """The dashboard waits for its stylesheet before it mounts: one that fails must not keep it
    from showing the data, not even the page's failing before boot.js is there to see it."""
    write_dataset(data_root, [MeterSpec()], NOW)
    with watched_page(browser, NOW) as (page, _):
        failed: list[str] = []

        def fail(route: Route) -> None:
            if failure == "404":
                route.fulfill(status=404, body="gone")
            else:
                route.abort(failure)
            failed.append(route.request.url)

        page.route("**/styles.css", fail)
        held: list[Route] = []
        page.route("**/js/boot.js", lambda route: held.append(route))
        url = server.url if host == "page" else panel_server.url + PANEL_PAGE
        page.goto(url, wait_until="commit")
        if host == "page":
            # boot.js comes once the stylesheet has failed.
            wait_while_held(
                page, lambda: bool(failed and held), "the stylesheet or boot.js was not asked for"
            )
            page.evaluate(TWO_FRAMES)
            held.pop().continue_()
        expect(page.locator(".ps")).to_have_attribute("data-state", "ready")
        expect(page.locator('.ps-card[data-stat="energy"] .ps-card-value')).not_to_have_text("")


def test_without_chartjs_the_year_stays_sketched_says_so_and_is_drawn_once_it_loads(
    data_root: Path, server: DashboardServer, browser: Browser
) -> None:
    """Chart.js's file failing (a dropped connection): the cards and the year's bars, sketched
    without it, stay; a note says the charts could not be loaded; the next draw tries again."""
    write_dataset(data_root, [MeterSpec()], NOW)
    context = browser.new_context()
    page = context.new_page()
    page.route("**/vendor/chart.min.js", lambda route: route.abort("connectionreset"))
    page.goto(server.url + "#level=yearly")
    note = page.get_by_text("The charts could not be loaded")
    expect(note).to_be_visible()
    main = page.locator("#ps-main canvas")
    expect(main).to_have_attribute("data-drawn", "sketch")
    expect(page.locator('.ps-card[data-stat="energy"] .ps-card-value')).not_to_have_text("")
    page.unroute("**/vendor/chart.min.js")
    page.get_by_role("tab", name="Last 30 days").click()
    expect(main).to_have_attribute("data-drawn", "chart")
    expect(note).to_have_count(0)
    context.close()


def test_the_panels_charts_follow_another_theme_of_the_same_lightness(
    data_root: Path, panel_server: DashboardServer, open_page: OpenPage
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    page = open_page(panel_server.url + PANEL_PAGE)
    expect(page.locator(".ps")).to_have_attribute("data-others", "ready")
    line_colour = f"""async () => {{
      const canvas = document.querySelector('powerstats-panel').shadowRoot
        .querySelector('#ps-main canvas');
      const chart = Object.values({PANEL_CHARTS}).find((c) => c.canvas === canvas);
      return chart.data.datasets[0].borderColor;
    }}"""
    assert page.evaluate(line_colour) == "rgb(3, 169, 244)"
    # HA applies another light theme's variables, then hands the panel its new `themes`.
    page.evaluate(
        """() => {
          document.documentElement.style.setProperty('--primary-color', 'rgb(230, 0, 120)');
          const panel = document.querySelector('powerstats-panel');
          panel.hass = { ...panel.hass, themes: { darkMode: false, theme: 'pink' } };
        }"""
    )
    assert page.evaluate(line_colour) == "rgb(230, 0, 120)"
