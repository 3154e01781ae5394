"""Home Assistant's own frontend on the newest HA, as a person meets it: log in, add a meter in
HA's dialogs, open the PowerStats panel from the sidebar. And the panel in HA's frontend of the
pinned minimum and of the newest HA: its menu button where HA hides the sidebar, the dark theme."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import blocking_calls, started
from tests.e2e.homeassistant_process import (
    HOST_NEWEST_HASS,
    PASSWORD,
    ROOT,
    USER,
    HomeAssistantProcess,
    Tokens,
    add_meter,
    http,
    run_coroutine,
    served_files,
)
from tests.e2e.test_system import (
    ARTIFACTS,
    POWER_ATTRIBUTES,
    _frontend_tokens,
    _next_boundary,
    energy_card,
    move_past,
    wait_for,
)

pytestmark = pytest.mark.browser

SENSOR = "sensor.ui_power"
WORKSHOP = "sensor.ui_workshop_power"
ZONE = ZoneInfo("Europe/Amsterdam")  # the time zone tests/e2e/homeassistant_process configures


def newest_chroot() -> Path:
    """Where scripts/setup keeps the newest Home Assistant (scripts/lib.sh: newest_chroot_dir)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("POWERSTATS_CHROOT") or Path(cache) / "powerstats" / "chroot-newest")


@pytest.fixture
def newest_home_assistant() -> Iterator[HomeAssistantProcess]:
    """The newest Home Assistant (not started), with its config in build/.

    Where scripts/setup put it: `.venv-ha` on a host whose Python is new enough, otherwise the
    chroot (scripts/develop chooses the same way).
    """
    if os.environ.get("POWERSTATS_SKIP_NEWEST") == "1":
        pytest.skip("POWERSTATS_SKIP_NEWEST=1: the newest Home Assistant is not prepared")
    chroot = None if HOST_NEWEST_HASS.exists() else newest_chroot()
    prepared = HOST_NEWEST_HASS.parents[1] if chroot is None else chroot
    if not (prepared / ".powerstats-ha-requirements").exists():
        pytest.fail(f"the newest Home Assistant is not prepared in {prepared}: run scripts/setup")
    # Inside the repository: the chroot sees the repository, not the host's temporary folders.
    work = ROOT / "build" / "e2e-newest"
    work.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=work))
    # With the recorder, as every real installation has it (default_config): without it, the
    # frontend's default dashboard asks `recorder/info` and HA answers "unknown command".
    ha = HomeAssistantProcess(
        config=folder / "ha", hass=HOST_NEWEST_HASS, chroot=chroot, extra_config="recorder:\n"
    )
    yield ha
    ha.stop()
    blocking = blocking_calls(ha)
    # HA's log stays with the screenshots: a page error is then read next to what HA said.
    (ARTIFACTS / "ha-newest.log").write_text(ha.log())
    shutil.rmtree(folder, ignore_errors=True)
    assert not blocking


def set_power(ha: HomeAssistantProcess, token: str, watts: float) -> None:
    http(
        f"{ha.url}/api/states/{SENSOR}",
        {"state": str(watts), "attributes": {**POWER_ATTRIBUTES, "friendly_name": "UI power"}},
        token=token,
    )


def log_in(page: Page, url: str) -> None:
    """Log in through HA's own login page, as a person does (no token is put in storage)."""
    page.goto(url + "/")
    expect(page).to_have_url(re.compile(r"/auth/authorize"))
    page.get_by_role("textbox", name="Username").fill(USER)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("checkbox", name="Keep me logged in").check()
    page.screenshot(path=ARTIFACTS / "ha-login.png")
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/auth/"), timeout=60_000)
    expect(sidebar_item(page, "Settings")).to_be_visible(timeout=60_000)


def sidebar_item(page: Page, name: str) -> Any:
    return (
        page.locator("ha-sidebar")
        .get_by_role("option", name=name)
        .or_(page.locator("ha-sidebar").get_by_role("link", name=name))
    )


def set_up_powerstats_in_dialogs(page: Page, sensor_name: str, meter_name: str) -> None:
    """Settings → Devices & services → Add integration → PowerStats: the first meter, then
    the publishing step (left empty)."""
    sidebar_item(page, "Settings").click()
    page.get_by_text("Devices & services", exact=True).click()
    expect(page).to_have_url(re.compile(r"/config/integrations"))
    page.get_by_role("button", name="Add integration").click()
    page.get_by_placeholder("Search for a brand name").fill("PowerStats")
    # The dialog lists the matching brands after the page's own cards: the last match is its.
    page.get_by_text("PowerStats", exact=True).last.click()
    dialog = page.locator("dialog-data-entry-flow")
    fill_meter_form(page, dialog, sensor_name, meter_name)
    dialog.get_by_role("button", name="Submit").click()
    # Publishing to GitHub is optional: an empty repository skips it.
    expect(dialog.get_by_text("GitHub").first).to_be_visible(timeout=60_000)
    dialog.get_by_role("button", name="Submit").click()
    finish_flow(dialog)


def add_meter_in_dialogs(page: Page, sensor_name: str, meter_name: str) -> None:
    """Settings → Devices & services → PowerStats → Add meter: the meter, then its price and
    files (left as they are)."""
    sidebar_item(page, "Settings").click()
    page.get_by_text("Devices & services", exact=True).click()
    expect(page).to_have_url(re.compile(r"/config/integrations"))
    page.locator("ha-integration-card").get_by_text("PowerStats", exact=True).click()
    expect(page).to_have_url(re.compile(r"/config/integrations/integration/powerstats"))
    page.get_by_role("button", name="Add meter").click()
    dialog = page.locator("dialog-data-entry-flow")
    fill_meter_form(page, dialog, sensor_name, meter_name)
    page.screenshot(path=ARTIFACTS / "ha-add-meter.png")
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog.get_by_text("Price and files")).to_be_visible(timeout=60_000)
    dialog.get_by_role("button", name="Submit").click()
    finish_flow(dialog)
    page.screenshot(path=ARTIFACTS / "ha-meters.png")


def fill_meter_form(page: Page, dialog: Locator, sensor_name: str, meter_name: str) -> None:
    """Pick the sensor in the dialog's entity picker and name the meter."""
    picker = dialog.get_by_text("Select an entity")
    expect(picker).to_be_visible(timeout=60_000)
    picker.click()
    search = page.get_by_role("dialog", name="Sensor").get_by_placeholder("Search", exact=True)
    search.fill(sensor_name)
    dialog.get_by_text(sensor_name, exact=True).click()
    # The form draws itself again once the sensor is picked: type the name after that.
    expect(search).to_be_hidden()
    name = dialog.get_by_role("textbox", name="Name")
    name.fill(meter_name)
    expect(name).to_have_value(meter_name)


def finish_flow(dialog: Locator) -> None:
    """Close the flow's last dialog (HA's "Skip and finish" or "Finish") and see it gone."""
    finish = dialog.get_by_role("button", name=re.compile("finish", re.IGNORECASE))
    expect(finish).to_be_visible(timeout=60_000)
    finish.click()
    expect(dialog.get_by_role("button")).to_have_count(0, timeout=30_000)


def meter_titles(ha: HomeAssistantProcess, token: str) -> list[str]:
    """The names of the meters PowerStats' entry holds, as HA lists its subentries."""

    async def listing() -> list[str]:
        import aiohttp

        (entry,) = http(f"{ha.url}/api/config/config_entries/entry?domain=powerstats", token=token)
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(ha.url.replace("http", "ws", 1) + "/api/websocket") as ws,
        ):
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": token})
            await ws.receive_json()
            await ws.send_json(
                {"id": 1, "type": "config_entries/subentries/list", "entry_id": entry["entry_id"]}
            )
            return sorted(item["title"] for item in (await ws.receive_json())["result"])

    return run_coroutine(listing())


def energy_today_entity(ha: HomeAssistantProcess, token: str) -> str | None:
    """The House meter's "energy today" sensor, once HA shows it."""
    for state in http(f"{ha.url}/api/states", token=token):
        entity_id = str(state["entity_id"])
        named = entity_id.startswith("sensor.house_") and entity_id.endswith("_energy_today")
        if named and state["state"] not in ("unknown", "unavailable"):
            return entity_id
    return None


def closed_with_energy(ha: HomeAssistantProcess, token: str, start: int) -> bool:
    """Whether daily.json, as HA serves it, holds the bucket starting at `start` as closed."""
    files = served_files(ha.url, token)
    if files is None or "house/daily.json" not in files:
        return False
    rows = json.loads(files["house/daily.json"])["rows"]
    # A bucket still open, or not measured, is listed as an empty row with no coverage.
    return any(row[0] == start and row[5] > 0 for row in rows)


def test_a_person_logs_in_adds_a_meter_in_the_dialogs_and_the_panel_shows_todays_energy(
    newest_home_assistant: HomeAssistantProcess, browser: Browser
) -> None:
    ha = newest_home_assistant
    # Mid-morning tomorrow on HA's clock, so the day does not turn during the test.
    tomorrow = datetime.now(ZONE).date() + timedelta(days=1)
    tokens = started(ha, clock=datetime.combine(tomorrow, time(10, 0), ZONE), timeout=600)
    token = tokens.access_token
    set_power(ha, token, 1000)  # the sensors exist before the meters are added
    http(
        f"{ha.url}/api/states/{WORKSHOP}",
        {"state": "250", "attributes": {**POWER_ATTRIBUTES, "friendly_name": "UI workshop power"}},
        token=token,
    )

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page_errors: list[str] = []
    # What the pages wrote to their console, kept with the screenshots: HA's frontend says there
    # why it reconnected, which a bare page error ("Object") does not.
    console: list[str] = []
    context.on(
        "console",
        lambda message: console.append(
            # Without the query: HA's frontend puts its short-lived brand image token there.
            f"{message.type}: {message.text} ({message.location.get('url', '').split('?')[0]})"
        ),
    )

    # A promise rejected with a plain object shows as the page error "Object": the console log
    # gets what the object held, and where the page stood.
    context.add_init_script(
        "addEventListener('unhandledrejection', (event) => console.error("
        "'unhandled rejection at ' + location.pathname + ': '"
        " + (event.reason instanceof Error ? event.reason.stack : JSON.stringify(event.reason))))"
    )
    handlers: dict[Page, Callable[[Exception], None]] = {}

    def open_page() -> Page:
        page = context.new_page()
        handlers[page] = lambda error: page_errors.append(f"{page.url}: {error}")
        page.on("pageerror", handlers[page])
        return page

    def close_page(page: Page) -> None:
        # Closing a page drops its connection to HA, and its frontend rejects what was still
        # waiting on it: that is the closing, not an error of the page in use.
        page.remove_listener("pageerror", handlers.pop(page))
        page.close()

    page = open_page()
    try:
        log_in(page, ha.url)
        set_up_powerstats_in_dialogs(page, "UI power", "House")
        sensor = wait_for(lambda: energy_today_entity(ha, token), "the meter's energy sensor")
        # A second meter (its name sorts after House, so the panel still opens on House).
        add_meter_in_dialogs(page, "UI workshop power", "Workshop")
        wait_for(lambda: meter_titles(ha, token) == ["House", "Workshop"], "the second meter")
        # HA's clock is moved next: a page open across that jump would see its connection to
        # HA time out, so this one is closed and the panel opened in a new one (still logged in).
        close_page(page)

        # Close a 10-minute bucket with energy in it: 1.5 kW until the clock is put 20 s before
        # the next boundary, then 0 W, so once the bucket has closed nothing more is counted
        # today and the sensor's total equals what the files (and so the panel) hold.
        set_power(ha, token, 1500)
        boundary = _next_boundary(ha.now() + timedelta(seconds=60))
        ha.move_clock(boundary - timedelta(seconds=20), token)
        set_power(ha, token, 0)
        move_past(ha, token, boundary)
        closed = int((boundary - timedelta(minutes=10)).timestamp())
        wait_for(
            lambda: closed_with_energy(ha, token, closed), "the first bucket to close", timeout=120
        )

        page = open_page()
        page.goto(ha.url + "/")
        sidebar_item(page, "PowerStats").click()
        expect(page).to_have_url(re.compile(r"/powerstats"))
        shown = energy_card(page)
        page.screenshot(path=ARTIFACTS / "ha-panel.png")
        today = float(http(f"{ha.url}/api/states/{sensor}", token=token)["state"])
        assert today > 0
        assert shown == pytest.approx(today, abs=1e-4)
        # HA's frontend lists integrations with lit-virtualizer, which rejects its pending layout
        # promise with the bare string "disconnected" when the list leaves the page mid-layout
        # (the brand list of the Add integration dialog closing, the dashboard left for an
        # integration's page): HA's frontend, not the panel. Every other page error fails it.
        assert [error for error in page_errors if not error.endswith(": disconnected")] == []
    finally:
        if not page.is_closed():
            page.screenshot(path=ARTIFACTS / "ha-last-page.png")  # what it showed at the end
        context.close()
        (ARTIFACTS / "ha-console.log").write_text("\n".join([*console, *page_errors, ""]))


def open_panel_directly(
    browser: Browser, ha: HomeAssistantProcess, tokens: Tokens, width: int, stored: dict[str, Any]
) -> Page:
    """The panel opened straight at its address (no other panel loaded first), logged in, with
    `stored` in HA's localStorage beside the login; returned once its view is drawn."""
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.goto(ha.url + "/auth/authorize")  # any page of HA's origin, for its storage
    page.evaluate(
        "stored => Object.entries(stored).forEach(([key, value]) =>"
        " localStorage.setItem(key, JSON.stringify(value)))",
        {"hassTokens": _frontend_tokens(ha, tokens), **stored},
    )
    page.goto(ha.url + "/powerstats")
    ready = page.locator("powerstats-panel .ps")
    expect(ready).to_have_attribute("data-state", "ready", timeout=60_000)
    return page


@pytest.mark.parametrize("version", ["pinned", "newest"])
def test_in_has_frontend_the_panel_opens_a_hidden_sidebar_and_follows_the_dark_theme(
    request: pytest.FixtureRequest, browser: Browser, version: str
) -> None:
    """HA hides its sidebar on a phone, and on a desktop whose user chose to hide it (HA keeps
    that choice in localStorage): the panel's menu button, HA's own, then opens it. In HA's
    frontend of the pinned minimum and of the newest HA."""
    fixture = "home_assistant" if version == "pinned" else "newest_home_assistant"
    ha: HomeAssistantProcess = request.getfixturevalue(fixture)
    tokens = started(ha)
    attributes = {**POWER_ATTRIBUTES, "friendly_name": "UI power"}
    http(
        f"{ha.url}/api/states/{SENSOR}",
        {"state": "640", "attributes": attributes},
        token=tokens.access_token,
    )
    add_meter(ha.url, tokens.access_token, SENSOR, "House")
    hidden = {"phone": (390, {}), "desktop": (1280, {"dockedSidebar": "always_hidden"})}
    for name, (width, stored) in hidden.items():
        page = open_panel_directly(browser, ha, tokens, width, stored)
        try:
            settings = sidebar_item(page, "Settings").first  # the pinned frontend nests two
            expect(settings).not_to_be_in_viewport()
            page.locator("powerstats-panel ha-menu-button").click()
            expect(settings).to_be_in_viewport()
            page.screenshot(path=ARTIFACTS / f"ha-panel-menu-{version}-{name}.png")
        finally:
            page.context.close()
    # The sidebar docked beside the panel on a desktop: no menu bar above the dashboard. And
    # HA's dark theme followed once the user turns it on, switched the way HA's profile page
    # switches it. (Set in localStorage before the page loads instead, the newest frontend may
    # replace it with the preference it keeps on the server, which arrives later.)
    page = open_panel_directly(browser, ha, tokens, 1280, {})
    try:
        expect(sidebar_item(page, "Settings").first).to_be_in_viewport()
        expect(page.locator("powerstats-panel .ps-ha-toolbar")).to_be_hidden()
        dashboard = page.locator("powerstats-panel .ps")
        expect(dashboard).to_have_attribute("data-scheme", "light")
        page.evaluate(
            "document.querySelector('home-assistant').dispatchEvent(new CustomEvent("
            "'settheme', { detail: { theme: 'default', dark: true } }))"
        )
        expect(dashboard).to_have_attribute("data-scheme", "dark")
        expect(dashboard).to_have_css(
            "background-color", theme_colour(page, "--primary-background-color")
        )
    finally:
        page.context.close()


def theme_colour(page: Page, variable: str) -> str:
    """What HA's theme sets `variable` to, as a computed colour (rgb(…))."""
    return str(
        page.evaluate(
            """(variable) => {
              const probe = document.createElement('div');
              probe.style.color = `var(${variable})`;
              document.querySelector('home-assistant').shadowRoot.append(probe);
              const colour = getComputedStyle(probe).color;
              probe.remove();
              return colour;
            }""",
            variable,
        )
    )
