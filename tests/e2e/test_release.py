"""The HACS release zip, installed as HACS installs it: unpacked into a clean config folder."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import brotli
import pytest

from tests.e2e import homeassistant_process
from tests.e2e.conftest import started
from tests.e2e.homeassistant_process import HomeAssistantProcess, add_meter, http, run_coroutine
from tests.e2e.test_system import wait_for

REPO = Path(__file__).resolve().parents[2]
SENSOR = "sensor.release_power"
POWER = {"unit_of_measurement": "W", "device_class": "power", "state_class": "measurement"}


def release_zip(out: Path) -> Path:
    """The zip the release workflow attaches, built by scripts/package from the repository."""
    command = [sys.executable, str(REPO / "scripts" / "package"), "--no-sync"]
    subprocess.run(
        [*command, "--out", str(out), "--dist", str(out / "dist")], check=True, capture_output=True
    )
    return out / "powerstats.zip"


async def _panel_module_url(url: str, token: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url.replace("http", "ws", 1) + "/api/websocket") as ws,
    ):
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json({"id": 1, "type": "get_panels"})
        panels = (await ws.receive_json())["result"]
        return str(panels["powerstats"]["config"]["_panel_custom"]["module_url"])


async def _fetch_raw(url: str, encoding: str) -> tuple[bytes, str | None]:
    """The body as sent (not decompressed) and its Content-Encoding."""
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(url, headers={"Accept-Encoding": encoding}) as response,
    ):
        assert response.status == 200, url
        return await response.read(), response.headers.get("Content-Encoding")


def test_the_release_zip_unpacked_into_a_clean_config_folder_loads_and_serves_its_panel(
    home_assistant: HomeAssistantProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = release_zip(tmp_path / "build")
    seed_config = homeassistant_process.seed_config

    def seed_from_release(config: Path, port: int, *args: Any, **kwargs: Any) -> None:
        """The usual configuration, with the integration unpacked from the zip (no link)."""
        seed_config(config, port, *args, **kwargs)
        installed = config / "custom_components" / "powerstats"
        if installed.is_symlink():
            installed.unlink()
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(installed)

    monkeypatch.setattr(homeassistant_process, "seed_config", seed_from_release)
    tokens = started(home_assistant)
    url, token = home_assistant.url, tokens.access_token
    installed = home_assistant.config / "custom_components" / "powerstats"
    assert not installed.is_symlink()
    assert json.loads((installed / "manifest.json").read_text())["domain"] == "powerstats"

    http(f"{url}/api/states/{SENSOR}", {"state": "400", "attributes": POWER}, token=token)
    add_meter(url, token, SENSOR, "House")
    entries = http(f"{url}/api/config/config_entries/entry?domain=powerstats", token=token)
    assert [entry["state"] for entry in entries] == ["loaded"]
    # It works: the dataset's manifest is written under the config folder.
    written = wait_for(
        lambda: (home_assistant.config / "powerstats" / "manifest.json").is_file(),
        "PowerStats to write its manifest",
    )
    assert written

    # The panel comes from the unpacked folder, precompressed by HA's static handler.
    module_url = run_coroutine(_panel_module_url(url, token))
    module = (installed / "frontend" / "ha-panel.js").read_bytes()
    for encoding, decompress in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        body, sent_as = run_coroutine(_fetch_raw(url + module_url, encoding))
        assert sent_as == encoding
        assert decompress(body) == module
    assert run_coroutine(_fetch_raw(url + module_url, "identity")) == (module, None)
