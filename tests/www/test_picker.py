"""The meter picker with 200 meters, as the integration renders them: search, keys, the address.

Every test reads the same 200 meters with a year of history each (written once, read-only).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.www.conftest import WWW, OpenDashboard
from tests.www.datagen import LEVELS, fixed_now
from tests.www.rendered import TZ, Rendered
from tests.www.server import DashboardServer

pytestmark = pytest.mark.browser

PANEL_HOST = Path(__file__).parent / "panel_host"
TOKEN = "t0k"


@pytest.fixture
def data_root(two_hundred_meters: Rendered) -> Path:
    return two_hundred_meters.root


def energy_today(rendered: Rendered, meter_id: str) -> float:
    """Today's energy from the meter's daily file, from local midnight, without the page's code."""
    document: dict[str, Any] = json.loads(rendered.files[f"{meter_id}/daily.json"])
    col = {name: i for i, name in enumerate(document["columns"])}
    today = datetime.fromtimestamp(fixed_now(), TZ).date()
    return sum(
        row[col["kwh"]] or 0.0
        for row in document["rows"]
        if datetime.fromtimestamp(row[col["start"]], TZ).date() == today
    )


def expect_meter_on_screen(page: Page, rendered: Rendered, meter_id: str, name: str) -> None:
    expect(page.locator(".ps")).to_have_attribute("data-loaded", f"{meter_id}/daily")
    expect(page.get_by_role("combobox", name="Meter")).to_have_value(name)
    card = page.locator("[data-stat='energy'] .ps-card-value")
    shown = float(card.get_attribute("data-value") or "nan")
    assert math.isclose(shown, energy_today(rendered, meter_id), rel_tol=1e-9)


def test_typing_part_of_a_name_finds_the_meter_among_200_and_the_address_keeps_it(
    open_dashboard: OpenDashboard, two_hundred_meters: Rendered, server: DashboardServer
) -> None:
    page = open_dashboard().page
    picker = page.get_by_role("combobox", name="Meter")
    picker.click()
    picker.press_sequentially("garage ev")
    expect(page.get_by_role("option")).to_have_text(["Garage ev charger garage_ev_charger"])
    picker.press("Enter")
    page.wait_for_url("**#meter=garage_ev_charger&level=daily")
    expect_meter_on_screen(page, two_hundred_meters, "garage_ev_charger", "Garage ev charger")
    # Of the 200 meters' files, only those of the meters shown were read.
    read = {path.split("/")[0] for path, _ in server.served.requests if path.endswith(".json")}
    assert read == {"manifest.json", "attic_boiler", "garage_ev_charger"}


def test_a_link_naming_a_meter_opens_that_meter(
    open_dashboard: OpenDashboard, two_hundred_meters: Rendered
) -> None:
    page = open_dashboard(url="#meter=office_heat_pump&level=daily").page
    expect_meter_on_screen(page, two_hundred_meters, "office_heat_pump", "Office heat pump")


def test_the_search_finds_a_meter_by_its_id_and_without_accents(
    open_dashboard: OpenDashboard,
) -> None:
    page = open_dashboard().page
    picker = page.get_by_role("combobox", name="Meter")
    picker.fill("basement_tv")
    expect(page.get_by_role("option")).to_have_text(["Basement tv basement_tv"])
    picker.fill("GÄRDEN SÄUNA")
    expect(page.get_by_role("option")).to_have_text(["Garden sauna garden_sauna"])


def test_the_list_shows_50_of_200_meters_in_name_order_and_says_how_to_narrow_it(
    open_dashboard: OpenDashboard,
) -> None:
    page = open_dashboard().page
    page.get_by_role("combobox", name="Meter").click()
    options = page.get_by_role("option")
    expect(options).to_have_count(50)
    expect(options.first).to_have_text("Attic boiler attic_boiler")
    expect(page.get_by_text("50 of 200 meters shown; type part of a name")).to_be_visible()
    page.get_by_role("combobox", name="Meter").fill("heat pump")
    expect(options).to_have_count(10)
    expect(page.get_by_text("10 meters", exact=True)).to_be_visible()


def test_the_keyboard_alone_chooses_a_meter_and_escape_keeps_the_one_shown(
    open_dashboard: OpenDashboard, two_hundred_meters: Rendered
) -> None:
    page = open_dashboard().page
    picker = page.get_by_role("combobox", name="Meter")
    picker.focus()
    page.keyboard.type("kitchen")
    expect(picker).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(picker).to_have_attribute("aria-expanded", "false")
    expect(picker).to_have_value("Attic boiler")
    page.keyboard.type("kitchen")
    # The best match is under Enter; the arrow goes to the next, in name order.
    expect(page.get_by_role("option", selected=True)).to_have_text("Kitchen boiler kitchen_boiler")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("option", selected=True)).to_have_text("Kitchen desk kitchen_desk")
    active = page.get_by_role("option", selected=True).get_attribute("id")
    expect(picker).to_have_attribute("aria-activedescendant", active or "")
    page.keyboard.press("Enter")
    page.wait_for_url("**#meter=kitchen_desk&level=daily")
    expect_meter_on_screen(page, two_hundred_meters, "kitchen_desk", "Kitchen desk")


def test_the_meter_chosen_last_opens_when_the_address_names_none(
    open_dashboard: OpenDashboard, two_hundred_meters: Rendered, server: DashboardServer
) -> None:
    page = open_dashboard().page
    picker = page.get_by_role("combobox", name="Meter")
    picker.fill("bedroom fridge")
    picker.press("Enter")
    page.wait_for_url("**#meter=bedroom_fridge&level=daily")
    again = page.context.new_page()
    again.clock.set_fixed_time(datetime.fromtimestamp(fixed_now(), UTC))
    again.goto(server.url)
    expect_meter_on_screen(again, two_hundred_meters, "bedroom_fridge", "Bedroom fridge")


def test_in_the_ha_panel_the_chosen_meter_is_kept_in_the_address_beside_the_hosts_own(
    browser: Browser, two_hundred_meters: Rendered
) -> None:
    mounts = {"static/": WWW, "host/": PANEL_HOST}
    data = two_hundred_meters.root
    with DashboardServer(mounts, data, data_prefix="api/powerstats/data/", token=TOKEN) as server:
        first = browser.new_context()
        page = first.new_page()
        page.clock.set_fixed_time(datetime.fromtimestamp(fixed_now(), UTC))
        page.goto(f"{server.url}host/index.html?module=/static/ha-panel.js&token={TOKEN}")
        picker = page.get_by_role("combobox", name="Meter")
        picker.fill("hallway washer")
        picker.press("Enter")
        page.wait_for_url(re.compile(r"\?module=.*&token=t0k&meter=hallway_washer&level=daily$"))
        link = page.url
        first.close()
        # Another browser (nothing remembered) opens the link on the same meter.
        second = browser.new_context()
        page = second.new_page()
        page.clock.set_fixed_time(datetime.fromtimestamp(fixed_now(), UTC))
        page.goto(link)
        expect_meter_on_screen(page, two_hundred_meters, "hallway_washer", "Hallway washer")
        second.close()


def test_meters_whose_words_start_as_typed_come_before_those_merely_containing_them(
    open_dashboard: OpenDashboard,
) -> None:
    page = open_dashboard().page
    page.get_by_role("combobox", name="Meter").fill("hall wash")
    expect(page.get_by_role("option")).to_have_text(
        ["Hallway washer hallway_washer", "Hallway dishwasher hallway_dishwasher"]
    )


def test_on_the_board_the_picker_finds_a_meter_among_the_200_the_agent_mirrored(
    browser: Browser, board: str, two_hundred_meters: Rendered
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.clock.set_fixed_time(datetime.fromtimestamp(fixed_now(), UTC))
    page.goto(board)
    picker = page.get_by_role("combobox", name="Meter")
    picker.fill("attic sauna")
    picker.press("Enter")
    page.wait_for_url("**#meter=attic_sauna&level=daily")
    expect_meter_on_screen(page, two_hundred_meters, "attic_sauna", "Attic sauna")
    context.close()


def show_meter(page: Page, meter_id: str) -> None:
    page.evaluate("(id) => { location.hash = `#meter=${id}&level=daily`; }", meter_id)
    expect(page.locator(".ps")).to_have_attribute("data-loaded", f"{meter_id}/daily")


def data_requests(page: Page) -> list[str]:
    """Every data file the page asks for from now on, by its relative path."""
    asked: list[str] = []
    base = page.url.split("#")[0]

    def note(request: Request) -> None:
        if request.url.endswith(".json"):
            asked.append(request.url.removeprefix(base))

    page.on("request", note)
    return asked


def test_going_back_to_a_meter_shown_a_moment_ago_reads_none_of_its_files_again(
    open_dashboard: OpenDashboard,
) -> None:
    page = open_dashboard(url="#meter=attic_fan&level=daily").page
    show_meter(page, "attic_fan")
    show_meter(page, "attic_tv")
    asked = data_requests(page)
    show_meter(page, "attic_fan")
    assert asked == []


def test_the_files_of_meters_shown_long_ago_are_let_go_and_read_again(
    open_dashboard: OpenDashboard,
) -> None:
    page = open_dashboard(url="#meter=attic_fan&level=daily").page
    show_meter(page, "attic_fan")
    # The page keeps the files of the last 8 meters shown (32 files), not of all 200.
    others = ("attic_tv", "basement_tv", "bedroom_tv", "garage_tv", "garden_tv", "hallway_tv")
    for meter_id in (*others, "kitchen_tv", "office_tv"):
        show_meter(page, meter_id)
    asked = data_requests(page)
    show_meter(page, "attic_fan")
    assert sorted(asked) == [f"attic_fan/{level}.json" for level in sorted(LEVELS)]
