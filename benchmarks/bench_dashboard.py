"""Benchmark: the dashboard's transfer size and the time from navigation to the 365-day chart.

Serves www/ and a generated full year of data from a loopback server (as the board does) and
loads the page in Debian's headless Chromium with no cache, several times. Run with the
project's venv python; prints a markdown section to stdout.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from tests.www.browser import launch  # noqa: E402
from tests.www.datagen import MeterSpec, write_dataset  # noqa: E402
from tests.www.server import DashboardServer  # noqa: E402

WWW = ROOT / "www"
RUNS = 9
SIZE_BUDGET = 300 * 1024
TIME_BUDGET_MS = 500.0


def load_once(browser: Browser, url: str, level: str) -> float:
    """Milliseconds from navigation start to the level's chart drawn, in a fresh context."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}#meter=house&level={level}")
    page.wait_for_selector(f".ps[data-state='ready'][data-level='{level}']")
    drawn: float = page.evaluate(
        f"performance.getEntriesByName('powerstats:ready:{level}')[0].startTime"
    )
    context.close()
    return drawn


def transfer_once(browser: Browser, server: DashboardServer) -> list[tuple[str, int]]:
    """Every request of one complete load (all levels in, for the averages chart)."""
    server.served.requests.clear()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}#meter=house&level=yearly")
    page.wait_for_selector(".ps[data-others='ready']")
    context.close()
    return list(server.served.requests)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        data = Path(tmp)
        # Data as fresh as a live install's (Playwright's fake clock would also fake the marks).
        write_dataset(data, [MeterSpec()], int(time.time()))
        browser = launch(playwright)
        with DashboardServer(WWW, data) as server:
            first_load = transfer_once(browser, server)  # also warms up Chromium itself
            yearly = [load_once(browser, server.url, "yearly") for _ in range(RUNS)]
            today = [load_once(browser, server.url, "daily") for _ in range(RUNS)]
        browser.close()

    page_bytes = sum(size for path, size in first_load if not path.endswith(".json"))
    chart_bytes = sum(size for path, size in first_load if path.startswith("vendor/"))
    data_bytes = sum(size for path, size in first_load if path.endswith(".json"))
    yearly_ms = statistics.median(yearly)
    today_ms = statistics.median(today)

    print("## Dashboard: transfer size and time to the 365-day chart")
    print()
    load = os.getloadavg()[0]
    print(
        f"Headless Chromium, loopback server, no cache, one meter with a full year of data; "
        f"median of {RUNS} loads (range {min(yearly):.0f} to {max(yearly):.0f} ms for 365 days; "
        f"machine load average {load:.1f} on {os.cpu_count()} cores while measuring)."
    )
    print()
    print("| Measurement | Value | Target | Ratio to target |")
    print("|---|---:|---:|---:|")
    print(
        f"| Page transfer (HTML, CSS, JS incl. Chart.js), uncompressed | {page_bytes / 1024:.1f} KB"
        f" | {SIZE_BUDGET / 1024:.0f} KB | {page_bytes / SIZE_BUDGET:.2f} |"
    )
    print(
        f"| of which Chart.js | {chart_bytes / 1024:.1f} KB | | "
        f"{chart_bytes / page_bytes:.2f} of the page |"
    )
    print(f"| Data (manifest + four levels) | {data_bytes / 1024:.1f} KB | | |")
    total = page_bytes + data_bytes
    print(
        f"| Everything fetched (page + data) | {total / 1024:.1f} KB | {SIZE_BUDGET / 1024:.0f} KB"
        f" | {total / SIZE_BUDGET:.2f} |"
    )
    print(
        f"| Navigation → 365-day chart drawn | {yearly_ms:.0f} ms | {TIME_BUDGET_MS:.0f} ms"
        f" | {yearly_ms / TIME_BUDGET_MS:.2f} |"
    )
    print(
        f"| Navigation → Today chart drawn | {today_ms:.0f} ms | | "
        f"{today_ms / yearly_ms:.2f} of the 365-day time |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
