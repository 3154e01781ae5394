"""Shared test setup for every part of PowerStats."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# pytest-homeassistant-custom-component puts its own `custom_components` package on the path
# when the `hass` fixture starts; importing ours first keeps it the one HA finds.
import custom_components.powerstats  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright


def pytest_configure(config: pytest.Config) -> None:
    """Keep libraries' INFO chatter out of the test output.

    pytest-homeassistant-custom-component, on import, calls `logging.basicConfig(level=INFO)`
    (a handler writing to the terminal, past pytest's capture) and turns SQLAlchemy's statement
    log on: every query of the recorder would be printed. Records still reach pytest's own
    capture, which shows them for a failing test.
    """
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


# One headless Chromium for the whole session, shared by the dashboard and end-to-end tests:
# Playwright's sync API cannot be started twice in one thread. Imported lazily, because the
# integration tests also run where no browser tooling is installed (the newest-HA chroot).
@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    from tests.www.browser import CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run scripts/setup (apt-get install chromium)")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    from tests.www.browser import launch

    browser = launch(playwright)
    yield browser
    browser.close()
