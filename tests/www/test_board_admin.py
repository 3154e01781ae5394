"""The board's admin page in a real browser: log in, act, log out, as a person would.

The agent's own tests speak HTTP with a client of their own; only a browser shows what a
browser sends with a form (its Origin header follows the page's referrer policy, say).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.agent.conftest import PASSWORD, Agent, run_agent, wait_until
from tests.www.conftest import WWW
from tests.www.datagen import MeterSpec, fixed_now, write_dataset
from tests.www.server import DashboardServer

DATA_PATH = "api/powerstats/data/"


@pytest.fixture
def admin_url(tmp_path: Path) -> Iterator[str]:
    """A real agent mirroring one meter from a loopback server, with an admin password."""
    data = tmp_path / "data"
    data.mkdir()
    write_dataset(data, [MeterSpec()], fixed_now())
    hashed = run_agent(
        sys.executable, tmp_path / "none.conf", "hash-password", "--stdin", stdin=PASSWORD + "\n"
    )
    assert hashed.returncode == 0, hashed.stderr
    # At the path HA serves it from: the status page shows this address, unbroken.
    with DashboardServer({}, data, data_prefix=DATA_PATH) as source:
        config = tmp_path / "agent.conf"
        config.write_text(
            f"[source]\nurl = {source.url}{DATA_PATH}\ninterval = 3600\ntimeout = 10\n"
            "[server]\nhost = 127.0.0.1\nport = 0\n"
            f"[paths]\nwebroot = {tmp_path}/webroot\ndashboard = {WWW}\n"
            f"state = {tmp_path}/state.json\n"
            f"[admin]\npassword_hash = {hashed.stdout.strip()}\n"
        )
        config.chmod(0o600)
        agent = Agent(sys.executable, config)
        try:
            yield f"http://127.0.0.1:{agent.port}/admin"
        finally:
            agent.stop()


def log_in(page: Page, url: str, password: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Admin login")).to_be_visible()
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_person_logs_in_mirrors_and_logs_out_in_a_browser(
    browser: Browser, admin_url: str
) -> None:
    page = browser.new_page()
    log_in(page, admin_url, PASSWORD)
    expect(page.get_by_role("heading", name="Actions")).to_be_visible()

    page.get_by_role("button", name="Mirror now").click()
    expect(page.get_by_text("A mirror poll was started.")).to_be_visible()
    # The page shows the meter's files once a poll has mirrored them (it does not refresh
    # itself: reloaded until they are listed).
    wait_until(
        lambda: page.reload() and page.get_by_text("house/daily.json").count() == 1,
        30,
        "the status page to list the mirrored files",
    )

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Admin login")).to_be_visible()
    page.goto(admin_url)
    expect(page.get_by_role("heading", name="Admin login")).to_be_visible()


def test_a_wrong_password_in_a_browser_says_so_and_opens_nothing(
    browser: Browser, admin_url: str
) -> None:
    page = browser.new_page()
    log_in(page, admin_url, "not the password")
    expect(page.get_by_text("Wrong password.")).to_be_visible()
    expect(page.get_by_role("heading", name="Actions")).to_have_count(0)


@pytest.mark.parametrize("width", [320, 390])
def test_the_admin_pages_fit_a_phone(browser: Browser, admin_url: str, width: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(admin_url)
    expect(page.get_by_role("heading", name="Admin login")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    log_in(page, admin_url, PASSWORD)
    expect(page.get_by_role("heading", name="Actions")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
