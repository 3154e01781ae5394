"""The vendored Chart.js: the exact file the re-vendoring script recorded, with its licence."""

from __future__ import annotations

import hashlib
import re

from tests.www.conftest import REPO, WWW

SCRIPT = (REPO / "scripts" / "vendor-chartjs").read_text()


def recorded(name: str) -> str:
    match = re.search(rf'^{name}="([^"]+)"$', SCRIPT, re.MULTILINE)
    assert match, f"scripts/vendor-chartjs records no {name}"
    return match.group(1)


def test_the_vendored_chartjs_is_the_file_whose_checksum_the_script_recorded() -> None:
    data = (WWW / "vendor" / "chart.umd.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == recorded("FILE_SHA256")
    assert f"Chart.js v{recorded('VERSION')}".encode() in data[:200]


def test_the_vendored_chartjs_carries_its_mit_licence() -> None:
    licence = (WWW / "vendor" / "chart.js-LICENSE.md").read_text()
    assert "The MIT License" in licence
    assert "Chart.js Contributors" in licence
