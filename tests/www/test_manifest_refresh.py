"""The manifest re-read with 200 meters: conditional, and level files only when their hash changed.

The page re-reads manifest.json every `refresh_seconds` (600 here); the browser's clock is moved
past that, and each test waits for the page to have finished the re-read (`data-reads`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from custom_components.powerstats.core.views import render_level
from tests.www.conftest import PAST_THE_INTERVAL_MS, WWW
from tests.www.datagen import fixed_now
from tests.www.rendered import Rendered, longest_manifest, year_of_history
from tests.www.server import DashboardServer

pytestmark = pytest.mark.browser

NOW = fixed_now()
AS_OF = NOW // 600 * 600
PANEL_HOST = Path(__file__).parent / "panel_host"
TOKEN = "t0k"
PANEL_PAGE = f"host/index.html?module=/static/ha-panel.js&token={TOKEN}"


@pytest.fixture
def rendered(two_hundred_meters: Rendered, tmp_path: Path) -> Rendered:
    """A copy of the 200 meters this test may change."""
    root = tmp_path / "data"
    shutil.copytree(two_hundred_meters.root, root)
    shared = two_hundred_meters
    return Rendered(root, list(shared.meters), shared.generated, {**shared.files})


@dataclass
class Watched:
    """A page on a pinned clock, and every data answer it got (path, status)."""

    page: Page
    answers: list[tuple[str, int]] = field(default_factory=list)

    def data_answers_after(self, reads: int) -> list[tuple[str, int]]:
        """The answers the page got while it did its re-reads after the first `reads`."""
        before = len(self.answers)
        self.page.clock.fast_forward(PAST_THE_INTERVAL_MS)
        expect(self.page.locator(".ps")).to_have_attribute("data-reads", str(reads + 1))
        return self.answers[before:]


type Watch = Callable[[str, str], Watched]


@pytest.fixture
def watch(browser: Browser) -> Iterator[Watch]:
    contexts = []

    def watch(url: str, prefix: str) -> Watched:
        context = browser.new_context()
        contexts.append(context)
        watched = Watched(context.new_page())

        def answered(response: Response) -> None:
            path = response.url.split("?")[0].split(prefix, 1)[-1]
            if path.endswith(".json"):
                watched.answers.append((path, response.status))

        watched.page.on("response", answered)
        watched.page.clock.install(time=datetime.fromtimestamp(NOW, UTC))
        watched.page.goto(url)
        expect(watched.page.locator(".ps")).to_have_attribute("data-reads", "1")
        expect(watched.page.locator(".ps")).to_have_attribute("data-others", "ready")
        return watched

    yield watch
    for context in contexts:
        context.close()


def test_an_unchanged_manifest_is_answered_304_without_a_body_and_no_level_file_is_read_again(
    rendered: Rendered, watch: Watch
) -> None:
    with DashboardServer(WWW, rendered.root) as server:
        watched = watch(f"{server.url}#meter=garage_fridge&level=daily", server.url)
        requests = len(server.served.requests)
        assert watched.data_answers_after(1) == [("manifest.json", 304)]
        assert server.served.requests[requests:] == [("manifest.json", 0)]
        assert watched.data_answers_after(2) == [("manifest.json", 304)]
        expect(watched.page.get_by_role("combobox", name="Meter")).to_have_value("Garage fridge")


def test_a_changed_manifest_brings_only_the_shown_level_files_whose_hash_changed(
    rendered: Rendered, watch: Watch
) -> None:
    with DashboardServer(WWW, rendered.root) as server:
        watched = watch(f"{server.url}#meter=garage_fridge&level=daily", server.url)
        other = year_of_history(AS_OF, scale=3.0)
        meters = {info.id: info for info in rendered.meters}
        # A boundary: the shown meter's daily file and another meter's file change.
        for meter_id in ("garage_fridge", "attic_oven"):
            data = render_level(meters[meter_id], "daily", other, AS_OF)
            rendered.replace(f"{meter_id}/daily.json", data)
        assert watched.data_answers_after(1) == [
            ("manifest.json", 200),
            ("garage_fridge/daily.json", 200),
        ]


def test_a_reread_while_someone_searches_for_a_meter_leaves_the_search_as_it_is(
    rendered: Rendered, watch: Watch
) -> None:
    with DashboardServer(WWW, rendered.root) as server:
        watched = watch(server.url, server.url)
        picker = watched.page.get_by_role("combobox", name="Meter")
        picker.fill("kitchen")
        rendered.rename("kitchen_heater", "Kitchen floor heating")
        assert watched.data_answers_after(1)[0] == ("manifest.json", 200)
        expect(picker).to_have_value("kitchen")
        expect(picker).to_be_focused()
        options = watched.page.get_by_role("option")
        expect(options).to_have_count(20)
        expect(options.get_by_text("Kitchen floor heating")).to_have_count(1)


def test_a_reread_while_the_whole_meter_list_is_open_leaves_it_open_with_the_new_names(
    rendered: Rendered, watch: Watch
) -> None:
    with DashboardServer(WWW, rendered.root) as server:
        watched = watch(server.url, server.url)
        watched.page.get_by_role("combobox", name="Meter").click()
        rendered.rename("attic_dryer", "Attic tumble dryer")
        assert watched.data_answers_after(1)[0] == ("manifest.json", 200)
        options = watched.page.get_by_role("option")
        expect(options).to_have_count(50)
        expect(options.get_by_text("Attic tumble dryer")).to_have_count(1)


def test_the_panel_rereads_the_manifest_conditionally_through_the_hosts_fetch(
    rendered: Rendered, watch: Watch
) -> None:
    mounts = {"static/": WWW, "host/": PANEL_HOST}
    with DashboardServer(
        mounts, rendered.root, data_prefix="api/powerstats/data/", token=TOKEN
    ) as server:
        watched = watch(server.url + PANEL_PAGE, "/api/powerstats/data/")
        # The server refuses data without the host's token before it looks at validators.
        assert watched.data_answers_after(1) == [("manifest.json", 304)]


def test_on_the_board_an_unchanged_manifest_is_answered_304_by_the_agent(
    board: str, watch: Watch
) -> None:
    watched = watch(f"{board}#meter=kitchen_kettle&level=daily", board)
    assert watched.data_answers_after(1) == [("manifest.json", 304)]


def test_a_host_that_gives_only_last_modified_is_asked_if_modified_since(
    rendered: Rendered, watch: Watch
) -> None:
    with DashboardServer(WWW, rendered.root, etags=False) as server:
        watched = watch(server.url, server.url)
        assert watched.data_answers_after(1) == [("manifest.json", 304)]


def test_a_manifest_entry_stays_under_1_5_kb_per_meter_with_the_longest_names() -> None:
    manifest = longest_manifest(200, "2026-11-25T15:20:00+01:00")
    assert len(manifest) / 200 <= 1536
