"""Benchmark: what the browser receives on a first load of the dashboard, and how soon the
365-day chart is drawn, in each of its hosts (benchmarks/dashboard_hosts.py).

Loads the page in Debian's headless Chromium with no cache, counts the bytes each response took
on the wire (Chromium's own count through the DevTools protocol: headers and the body as sent,
compressed or not), and times navigation to the drawn 365-day chart several times per host. The
plain, uncompressed server the figures were first taken on runs beside the three hosts, so the
ratios compare within one run. Run with the project's venv python; prints a markdown section.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from benchmarks.dashboard_hosts import (  # noqa: E402
    before_host,
    board_host,
    pages_host,
    panel_host,
    plain_host,
)
from tests.www.browser import launch  # noqa: E402
from tests.www.datagen import MeterSpec, write_dataset  # noqa: E402

RUNS = 9
SIZE_BUDGET = 100 * 1024  # page + data on a first load, as transferred
TIME_BUDGET_MS = 250.0  # navigation to the drawn 365-day chart, median

CHART = {"daily": "Today", "weekly": "this week", "monthly": "30 days", "yearly": "365 days"}
Host = Callable[[Path], AbstractContextManager[str]]
HOSTS: list[tuple[str, Host]] = [
    ("HA panel (FileResponse, .br/.gz siblings)", panel_host),
    ("Board (the agent, .gz siblings)", board_host),
    ("Pages-like (gzip per response)", pages_host),
    ("Plain loopback server, nothing compressed", plain_host),
    ("Before: full Chart.js, plain server", before_host),
]
TARGETED = 3  # the first three are the hosts the targets apply to


@dataclass
class Figures:
    page: int = 0  # bytes on the wire: HTML, CSS, JS (Chart.js included)
    chartjs: int = 0
    data: int = 0  # manifest.json and the level files
    level: str = ""  # the level whose chart was timed
    median_ms: float = 0.0
    low_ms: float = 0.0
    high_ms: float = 0.0


def first_load(browser: Browser, url: str) -> Figures:
    """Bytes on the wire for one complete load (every level in, for the averages chart)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on(
        "Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"])
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    page.goto(url + "#meter=house&level=yearly")
    page.wait_for_selector(".ps[data-others='ready']")
    page.wait_for_load_state("networkidle")
    context.close()
    figures = Figures()
    for request, size in sizes.items():
        path = urls.get(request, "").split("?")[0]
        if "/host/" in path:
            continue  # the stand-in for HA's own page is not the dashboard's
        if path.endswith(".json"):
            figures.data += size
        else:
            figures.page += size
            if "/vendor/chart" in path:
                figures.chartjs += size
    return figures


def load_once(browser: Browser, url: str) -> tuple[str, float]:
    """The level first drawn and the milliseconds from navigation start until it was drawn.

    The stand-alone page opens on the level its URL names (the 365 days); HA's panel keeps no
    state in the URL and opens on its first tab.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url + "#meter=house&level=yearly")
    page.wait_for_selector(".ps[data-state='ready']")
    level, drawn = page.evaluate(
        """() => { const mark = performance.getEntriesByType('mark')
             .find((m) => m.name.startsWith('powerstats:ready:'));
           return [mark.name.split(':')[2], mark.startTime]; }"""
    )
    context.close()
    return str(level), float(drawn)


def measure(browser: Browser, host: Host, data: Path) -> Figures:
    with host(data) as url:
        load_once(browser, url)  # warms the host and Chromium up; not counted
        figures = first_load(browser, url)
        loads = [load_once(browser, url) for _ in range(RUNS)]
    times = [ms for _, ms in loads]
    figures.level = loads[0][0]
    figures.median_ms = statistics.median(times)
    figures.low_ms, figures.high_ms = min(times), max(times)
    return figures


def kb(size: float) -> str:
    return f"{size / 1024:.1f} KB"


def main() -> int:
    results: list[tuple[str, Figures]] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        data = Path(tmp)
        # Data as fresh as a live install's (Playwright's fake clock would also fake the marks).
        write_dataset(data, [MeterSpec()], int(time.time()))
        browser = launch(playwright)
        for name, host in HOSTS:
            results.append((name, measure(browser, host, data)))
        browser.close()

    print("## Dashboard: bytes transferred and time to the 365-day chart")
    print()
    print(
        f"Headless Chromium, loopback, no cache, one meter with a full year of data. Bytes are "
        f"Chromium's count on the wire (headers and body as sent) for one first load with every "
        f"level in; times are the median of {RUNS} loads from navigation to the drawn 365-day "
        f"chart (machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while "
        f"measuring). Targets for the three hosts: page + data at most {kb(SIZE_BUDGET)}, chart "
        f"at most {TIME_BUDGET_MS:.0f} ms. The last row is the dashboard before Chart.js was "
        f"trimmed and its files compressed, served the way its first figures were taken; "
        f'"vs before" divides by it.'
    )
    print()
    print(
        "| Host | Page | of which Chart.js | Data | Page + data | vs target | vs before "
        "| chart drawn (range) | vs target | vs before |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    failed = False
    before = results[-1][1]
    for index, (name, f) in enumerate(results):
        total = f.page + f.data
        met = total <= SIZE_BUDGET and f.median_ms <= TIME_BUDGET_MS
        failed |= index < TARGETED and not met
        print(
            f"| {name} | {kb(f.page)} | {kb(f.chartjs)} | {kb(f.data)} | {kb(total)}"
            f" | {total / SIZE_BUDGET:.2f} | {total / (before.page + before.data):.2f}"
            f" | {CHART[f.level]}: {f.median_ms:.0f} ms ({f.low_ms:.0f} to {f.high_ms:.0f})"
            f" | {f.median_ms / TIME_BUDGET_MS:.2f} | {f.median_ms / before.median_ms:.2f} |"
        )
    print()
    verdict = "not met in every host" if failed else "met in every host"
    print(f"Targets (ratio to target at most 1.00 for the three hosts): **{verdict}**.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
