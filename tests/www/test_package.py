"""The HACS package: the dashboard copy in the integration, the build, the panel from the build."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import brotli
import pytest
from playwright.sync_api import Browser, expect

from scripts.js_comments import strip_comment_lines
from tests.www.conftest import REPO, WWW
from tests.www.datagen import LEVELS, MeterSpec, fixed_now, write_dataset
from tests.www.server import DashboardServer

INTEGRATION = REPO / "custom_components" / "powerstats"
SKIP = {"__pycache__"}
# The encodings HA's static handler (aiohttp's FileResponse) serves from precompressed siblings.
SIBLINGS = {".br": brotli.decompress, ".gz": gzip.decompress}


def files_under(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not SKIP & set(p.parts) and p.suffix != ".pyc"
    }


def package(out: Path) -> Path:
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "package"), "--out", str(out), "--no-sync"],
        check=True,
        capture_output=True,
    )
    return out / "hacs" / "custom_components" / "powerstats"


def shipped(path: str) -> bytes:
    """A file of www/ as the dashboard ships it: its own modules and stylesheet without their
    comment lines, blank lines and indentation."""
    data = (WWW / path).read_bytes()
    if path.endswith((".js", ".css")) and not path.startswith("vendor/"):
        return strip_comment_lines(data.decode(), path).encode()
    return data


def test_the_dashboard_copy_inside_the_integration_matches_www() -> None:
    copy = INTEGRATION / "frontend"
    copied = {path for path in files_under(copy) if Path(path).suffix not in SIBLINGS}
    stale = sorted(
        path
        for path in files_under(WWW) | copied
        if not (WWW / path).is_file()
        or not (copy / path).is_file()
        or (copy / path).read_bytes() != shipped(path)
    )
    assert stale == [], (
        f"custom_components/powerstats/frontend/ is stale: run scripts/package ({stale})"
    )


def comment_lines(source: list[str]) -> set[int]:
    """The indices of the lines that are wholly comment: `//` lines, and the lines of a block
    comment that starts a line, up to the one it ends on."""
    found: set[int] = set()
    in_block = False
    for number, line in enumerate(source):
        bare = line.strip()
        if in_block:
            found.add(number)
            in_block = "*/" not in bare
        elif bare.startswith("/*"):
            found.add(number)
            in_block = "*/" not in bare[2:]
        elif bare.startswith("//"):
            found.add(number)
    return found


def test_the_shipped_modules_are_the_sources_less_comment_lines_and_indentation_only() -> None:
    copy = INTEGRATION / "frontend"
    files = sorted(
        p for p in files_under(WWW) if p.endswith((".js", ".css")) and "vendor/" not in p
    )
    assert {"js/dashboard.js", "ha-panel.js", "styles.css"} <= set(files)
    for path in files:
        source = (WWW / path).read_text().splitlines()
        kept = (copy / path).read_text().splitlines()
        # Every shipped line is a source line less its indentation, in order; every line left
        # out is a comment's or blank.
        lines = iter(enumerate(source))
        dropped = []
        for line in kept:
            assert line == line.lstrip(), f"{path}: {line!r} is indented"
            for number, candidate in lines:
                if candidate.lstrip() == line:
                    break
                dropped.append((number, candidate))
            else:
                raise AssertionError(f"{path}: {line!r} is not in the source, or out of order")
        dropped += lines  # the lines after the last one shipped
        commented = comment_lines(source)
        for number, candidate in dropped:
            assert not candidate.strip() or number in commented, (
                f"{path}:{number + 1}: {candidate!r}"
            )
        assert len(kept) < len(source), f"{path} ships its comments"
        assert not any(line.startswith("//") for line in kept), path


def test_every_text_file_of_the_panel_has_current_brotli_and_gzip_siblings() -> None:
    copy = INTEGRATION / "frontend"
    text = [
        path
        for path in sorted(files_under(copy))
        if Path(path).suffix in {".html", ".js", ".css", ".svg"}
        and (copy / path).stat().st_size >= 512
    ]
    assert "vendor/chart.min.js" in text
    for path in text:
        for suffix, decompress in SIBLINGS.items():
            sibling = copy / f"{path}{suffix}"
            assert sibling.is_file(), f"{sibling} is missing: run scripts/package"
            assert decompress(sibling.read_bytes()) == (copy / path).read_bytes(), (
                f"{sibling} is stale: run scripts/package"
            )
    orphans = [
        path
        for path in files_under(copy)
        if Path(path).suffix in SIBLINGS and Path(path).with_suffix("").as_posix() not in text
    ]
    assert orphans == []


def test_the_package_holds_exactly_the_integration_folder(tmp_path: Path) -> None:
    folder = package(tmp_path)
    assert files_under(folder) == files_under(INTEGRATION)
    with zipfile.ZipFile(tmp_path / "powerstats.zip") as zipped:
        assert set(zipped.namelist()) == files_under(INTEGRATION)
        assert zipped.read("frontend/ha-panel.js") == shipped("ha-panel.js")


@pytest.mark.browser
@pytest.mark.parametrize("dark", [False, True])
def test_the_panel_from_the_package_shows_the_data_through_the_hosts_authenticated_fetch(
    tmp_path: Path, browser: Browser, dark: bool
) -> None:
    folder = package(tmp_path / "build")
    data = tmp_path / "data"
    write_dataset(data, [MeterSpec()], fixed_now())
    mounts = {"static/": folder / "frontend", "host/": Path(__file__).parent / "panel_host"}
    with DashboardServer(mounts, data, data_prefix="api/powerstats/data/", token="t0k") as server:
        context = browser.new_context(viewport={"width": 1024, "height": 800})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.clock.set_fixed_time(datetime.fromtimestamp(fixed_now(), UTC))
        page.goto(
            f"{server.url}host/index.html?module=/static/ha-panel.js&token=t0k&dark={int(dark)}"
        )
        page.wait_for_selector("powerstats-panel .ps[data-state='ready'][data-others='ready']")
        energy = page.locator("powerstats-panel [data-stat='energy'] .ps-card-value")
        expect(energy).not_to_have_text(re.compile(r"^(—)?$"))
        expect(page.locator("powerstats-panel .ps")).to_have_attribute(
            "data-scheme", "dark" if dark else "light"
        )
        # HA's theme variables win over the dashboard's own colours.
        background = "getComputedStyle(document.querySelector('powerstats-panel')"
        background += ".shadowRoot.querySelector('.ps')).backgroundColor"
        assert page.evaluate(background) == "rgb(250, 240, 230)"
        data_requests = [
            (path, size) for path, size in server.served.requests if path.startswith("api/")
        ]
        context.close()
    assert ("api/powerstats/data/manifest.json", 0) not in data_requests  # never refused
    assert {path for path, _ in data_requests} == {
        "api/powerstats/data/manifest.json",
        *(f"api/powerstats/data/house/{level}.json" for level in LEVELS),
    }
    assert errors == []


@pytest.mark.browser
def test_a_detached_panel_stops_reading_data(tmp_path: Path, browser: Browser) -> None:
    folder = package(tmp_path / "build")
    data = tmp_path / "data"
    write_dataset(data, [MeterSpec()], fixed_now(), refresh_seconds=600)
    mounts = {"static/": folder / "frontend", "host/": Path(__file__).parent / "panel_host"}
    with DashboardServer(mounts, data, data_prefix="api/powerstats/data/", token="t0k") as server:
        context = browser.new_context()
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.clock.install(time=datetime.fromtimestamp(fixed_now(), UTC))
        page.goto(f"{server.url}host/index.html?module=/static/ha-panel.js&token=t0k")
        page.wait_for_selector("powerstats-panel .ps[data-others='ready']")
        page.evaluate("document.querySelector('powerstats-panel').remove()")
        before = len(requested)
        page.clock.run_for(30 * 60 * 1000)
        assert len(requested) == before
        context.close()
