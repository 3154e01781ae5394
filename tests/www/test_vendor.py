"""The vendored Chart.js: the exact file the re-vendoring script recorded, with its licence."""

from __future__ import annotations

import hashlib
import json
import re

from tests.www.conftest import REPO, WWW

SCRIPT = (REPO / "scripts" / "vendor-chartjs").read_text()


def recorded(name: str) -> str:
    match = re.search(rf'^{name}="([^"]+)"$', SCRIPT, re.MULTILINE)
    assert match, f"scripts/vendor-chartjs records no {name}"
    return match.group(1)


def test_the_vendored_chartjs_is_the_build_whose_checksum_the_script_recorded() -> None:
    data = (WWW / "vendor" / "chart.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == recorded("FILE_SHA256")


def test_the_build_pins_the_chartjs_version_the_script_names() -> None:
    pins = json.loads((REPO / "scripts" / "esbuild" / "package.json").read_text())
    lock = json.loads((REPO / "scripts" / "esbuild" / "package-lock.json").read_text())
    assert pins["dependencies"]["chart.js"] == recorded("VERSION")
    assert lock["packages"]["node_modules/chart.js"]["version"] == recorded("VERSION")
    assert lock["packages"]["node_modules/chart.js"]["integrity"].startswith("sha512-")


def test_the_build_keeps_the_licence_notices_of_everything_it_bundles() -> None:
    data = (WWW / "vendor" / "chart.min.js").read_text()
    assert f"Chart.js v{recorded('VERSION')}" in data
    assert "@kurkle/color v" in data
    assert data.count("Released under the MIT License") == 2


def test_the_vendored_chartjs_carries_its_mit_licences() -> None:
    for name, holder in (("chart.js", "Chart.js Contributors"), ("kurkle-color", "Jukka Kurkela")):
        licence = (WWW / "vendor" / f"{name}-LICENSE.md").read_text()
        assert "MIT License" in licence
        assert holder in licence
