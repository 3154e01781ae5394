"""The HACS package: the dashboard copy in the integration, the build, the panel from the build."""

from __future__ import annotations

import gzip
import importlib.machinery
import importlib.util
import posixpath
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import brotli
import pytest
from playwright.sync_api import Browser, expect

from tests.www.conftest import REPO, WWW, watched_page
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


def package_script() -> ModuleType:
    """scripts/package as a module (the file has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader(
        "package_script", str(REPO / "scripts" / "package")
    )
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built() -> dict[str, bytes]:
    """www/ as it ships, built again now (esbuild, scripts/esbuild/ship.mjs)."""
    return {path.as_posix(): data for path, data in package_script().built_www().items()}


def test_the_dashboard_copy_inside_the_integration_matches_www(built: dict[str, bytes]) -> None:
    copy = INTEGRATION / "frontend"
    copied = {path for path in files_under(copy) if Path(path).suffix not in SIBLINGS}
    stale = sorted(
        path
        for path in set(built) | copied
        if path not in built
        or not (copy / path).is_file()
        or (copy / path).read_bytes() != built[path]
    )
    assert stale == [], (
        f"custom_components/powerstats/frontend/ is stale: run scripts/package ({stale})"
    )


# Every import a shipped module makes: `import ... from '...'`, `import '...'`, `import('...')`.
IMPORT = re.compile(r"""\bimport\s*(?:\(\s*|[\w{}*,\s$]*?from\s*)?["']([^"']+)["']""")


def test_each_room_ships_as_one_file_with_only_chartjs_and_the_picker_apart(
    built: dict[str, bytes],
) -> None:
    """The stand-alone page's js/boot.js and the panel's ha-panel.js each hold every module of
    the dashboard; the only imports left to the browser are what loads on demand."""
    own = {path for path in built if path.endswith(".js") and not path.startswith("vendor/")}
    assert own == {"js/boot.js", "ha-panel.js", "js/picker.js"}
    sources = {p.relative_to(WWW).as_posix() for p in (WWW / "js").glob("*.js")}
    assert {"js/dashboard.js", "js/charts.js", "js/sketch.js", "js/data.js"} <= sources
    for room, folder in (("js/boot.js", "js"), ("ha-panel.js", ".")):
        text = built[room].decode()
        imported = {posixpath.normpath(posixpath.join(folder, t)) for t in IMPORT.findall(text)}
        assert imported == {"vendor/chart.min.js", "js/picker.js"}, room
        # The dashboard's code is in it: the mark the first chart sets, the sketch, the cards.
        for word in ("powerstats:ready:", "dataset.drawn", "ps-card-value"):
            assert word in text, f"{room} lacks {word}"
        # Minified: well under the sources' size, without comments, indentation or long names.
        assert len(text) < 0.6 * sum((WWW / path).stat().st_size for path in sources), room
    assert IMPORT.findall(built["js/picker.js"].decode()) == []
    assert b"/*" not in built["styles.css"]
    assert len(built["styles.css"]) < (WWW / "styles.css").stat().st_size


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
        assert (
            zipped.read("frontend/ha-panel.js")
            == (INTEGRATION / "frontend/ha-panel.js").read_bytes()
        )


@pytest.mark.browser
@pytest.mark.parametrize("dark", [False, True])
def test_the_panel_from_the_package_shows_the_data_through_the_hosts_authenticated_fetch(
    tmp_path: Path, browser: Browser, dark: bool
) -> None:
    folder = package(tmp_path / "build")
    data = tmp_path / "data"
    write_dataset(data, [MeterSpec()], fixed_now())
    mounts = {"static/": folder / "frontend", "host/": Path(__file__).parent / "panel_host"}
    with (
        DashboardServer(mounts, data, data_prefix="api/powerstats/data/", token="t0k") as server,
        watched_page(browser, fixed_now(), {"width": 1024, "height": 800}) as (page, errors),
    ):
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


@pytest.mark.browser
def test_the_page_from_the_package_draws_from_one_module_and_fetches_the_picker_apart(
    tmp_path: Path, browser: Browser
) -> None:
    """The stand-alone page as the board and GitHub Pages get it: its code comes in js/boot.js
    alone, Chart.js and the meter picker (two meters) as files of their own, and all of it works:
    the year drawn and taken over by Chart.js, another meter chosen."""
    folder = package(tmp_path / "build")
    data = tmp_path / "data"
    garage = MeterSpec(id="garage", name="Garage", scale=0.25)
    write_dataset(data, [MeterSpec(), garage], fixed_now())
    with (
        DashboardServer(folder / "frontend", data) as server,
        watched_page(browser, fixed_now(), {"width": 1024, "height": 800}) as (page, errors),
    ):
        page.goto(f"{server.url}#meter=house&level=yearly")
        expect(page.locator("#ps-main canvas")).to_have_attribute("data-drawn", "chart")
        page.wait_for_selector(".ps[data-others='ready']")
        page.get_by_role("combobox", name="Meter").click()
        page.get_by_role("option", name="Garage").click()
        page.wait_for_url("**#meter=garage&level=yearly")
        expect(page.get_by_role("combobox", name="Meter")).to_have_value("Garage")
        expect(page.get_by_text("PowerStats is loading")).to_have_count(0)  # replaced as it mounted
        fetched = {path for path, _ in server.served.requests}
    data_files = {"manifest.json"} | {
        f"{meter}/{level}.json" for meter in ("house", "garage") for level in LEVELS
    }
    assert fetched - data_files == {
        "index.html",
        "styles.css",
        "js/boot.js",
        "js/picker.js",
        "vendor/chart.min.js",
    }
    assert errors == []


@pytest.mark.browser
def test_the_page_from_the_package_says_so_when_its_code_cannot_be_loaded(
    tmp_path: Path, browser: Browser
) -> None:
    folder = package(tmp_path / "build")
    data = tmp_path / "data"
    write_dataset(data, [MeterSpec()], fixed_now())
    with DashboardServer(folder / "frontend", data) as server:
        context = browser.new_context()
        page = context.new_page()
        page.route("**/js/boot.js", lambda route: route.abort("connectionreset"))
        # The line is in the page from its first byte: looked at once the code has failed.
        with page.expect_event("requestfailed", lambda r: r.url.endswith("/js/boot.js")):
            page.goto(server.url)
        expect(page.locator("main")).to_have_text(
            "PowerStats is loading. If this stays, reload the page."
        )
        context.close()
