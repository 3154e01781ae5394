"""Fixtures for the dashboard tests: headless Chromium, a loopback server, generated data."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize

from tests.agent.conftest import Agent, run_agent
from tests.www.datagen import fixed_now
from tests.www.rendered import Rendered, many_meters, render_meters
from tests.www.server import DashboardServer

REPO = Path(__file__).resolve().parents[2]
WWW = REPO / "www"
ARTIFACTS = REPO / "test-artifacts"
# How far to move the page's clock for the re-read after the writer's 600 s: just past it.
# Moved with `clock.fast_forward` (a page left alone that long), not `run_for`: the page gives up
# on a read after 20 s of its clock, and run_for fires every timer in its range one after another
# without waiting for the network, so when the test reached the move more than 19 s after the
# page armed its re-read (a busy machine), the same move also gave up on the read it had started.
PAST_THE_INTERVAL_MS = 601 * 1000


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def two_hundred_meters(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """200 meters with a year of history each, as the integration renders them (read-only)."""
    as_of = fixed_now() // 600 * 600
    return render_meters(tmp_path_factory.mktemp("200-meters"), many_meters(200), as_of)


@pytest.fixture(scope="session")
def board(two_hundred_meters: Rendered, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real board agent serving www/ and the 200 meters it mirrored from a loopback data
    view (behind a token, as HA's is); yields its URL."""
    home = tmp_path_factory.mktemp("board")
    data, token = two_hundred_meters.root, "board-token"
    with DashboardServer({}, data, data_prefix="api/powerstats/data/", token=token) as view:
        config = home / "agent.conf"
        config.write_text(
            f"[source]\nurl = {view.url}api/powerstats/data/\ntoken = {token}\n"
            "interval = 3600\ntimeout = 10\n[server]\nhost = 127.0.0.1\nport = 0\n"
            f"[paths]\nwebroot = {home}/webroot\ndashboard = {WWW}\nstate = {home}/state.json\n"
        )
        config.chmod(0o600)
        # 801 files, each gzipped by a child process: minutes on a machine under a CPU hog.
        mirrored = run_agent(sys.executable, config, "mirror-once", timeout=600)
        assert mirrored.returncode == 0, mirrored.stderr
        agent = Agent(sys.executable, config)
        try:
            yield f"http://127.0.0.1:{agent.port}/"
        finally:
            agent.stop()


@pytest.fixture
def server(data_root: Path) -> Iterator[DashboardServer]:
    with DashboardServer(WWW, data_root) as server:
        yield server


@dataclass
class Opened:
    """A dashboard page and what its console said."""

    page: Page
    errors: list[str] = field(default_factory=list)


type OpenDashboard = Callable[..., Opened]


@pytest.fixture
def open_dashboard(browser: Browser, server: DashboardServer) -> Iterator[OpenDashboard]:
    contexts = []

    def open_dashboard(
        *,
        width: int = 1280,
        height: int = 900,
        url: str = "",
        state: str = "ready",
        color_scheme: str = "light",
        now: int | None = None,
    ) -> Opened:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="en-GB",
            timezone_id="America/New_York",  # not the meter's zone: the page must use the meter's
            color_scheme=color_scheme,  # type: ignore[arg-type]
            accept_downloads=True,
        )
        contexts.append(context)
        page = context.new_page()
        opened = Opened(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                opened.errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        # Staleness is judged against the browser's clock, so pin it to the data's "now".
        pinned = fixed_now() if now is None else now
        page.clock.set_fixed_time(datetime.fromtimestamp(pinned, UTC))
        page.goto(server.url + url)
        page.wait_for_selector(f".ps[data-state='{state}']")
        return opened

    yield open_dashboard
    for context in contexts:
        context.close()


@contextmanager
def watched_page(
    browser: Browser, now: int, viewport: ViewportSize | None = None
) -> Iterator[tuple[Page, list[str]]]:
    """A page in a context of its own, its clock at the data's `now`, and the errors its console
    shows, gathered as they come."""
    context = browser.new_context(viewport=viewport, locale="en-GB")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.clock.set_fixed_time(datetime.fromtimestamp(now, UTC))
        yield page, errors
    finally:
        context.close()


# Two of the page's frames and a task after them: what a page does once a module or a response
# is in has happened by then.
TWO_FRAMES = """() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(
  () => setTimeout(done))))"""


def wait_while_held(page: Page, done: Callable[[], bool], what: str) -> None:
    """Wait for `done` (something this side sees: a server's log, routes held) while the page
    holds a response back. Each call into the page brings its events, held routes among them, to
    this side."""
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, what
        page.evaluate("0")
