"""The sidebar panel in a real HA core: registered, served from inside the integration, removed."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.components import frontend
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)

from custom_components.powerstats.panel import PANEL_URL_PATH

from .conftest import SOURCE, make_entry

type ClientSessionGenerator = Callable[[], Awaitable[TestClient[Any, Any]]]

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "powerstats"
# HA's static handler sends these siblings in place of a file (scripts/package writes them).
SUFFIX = {"br": ".br", "gzip": ".gz"}


def panel_config(hass: HomeAssistant) -> dict[str, Any]:
    config = hass.data[frontend.DATA_PANELS][PANEL_URL_PATH].config
    assert config is not None
    return config


async def start(hass: HomeAssistant) -> MockConfigEntry:
    """HA with its web frontend, and one meter (the first meter brings the panel)."""
    assert await async_setup_component(hass, "frontend", {})
    hass.states.async_set(SOURCE, "640", {"unit_of_measurement": "W"})
    entry = make_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


def module_url(hass: HomeAssistant) -> str:
    url: str = panel_config(hass)["_panel_custom"]["module_url"]
    return url


async def test_the_first_meter_adds_a_sidebar_panel_with_the_translated_title_and_an_icon(
    ha: HomeAssistant,
) -> None:
    await start(ha)
    panel = ha.data[frontend.DATA_PANELS][PANEL_URL_PATH]
    english = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    assert panel.sidebar_title == english["common"]["panel_title"]
    assert panel.sidebar_icon == "mdi:chart-box-outline"
    assert panel.require_admin is False
    assert panel_config(ha)["_panel_custom"]["name"] == "powerstats-panel"
    assert panel_config(ha)["data_url"] == "/api/powerstats/data/"


async def test_the_panel_files_are_served_from_inside_the_integration(
    ha: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    await start(ha)
    client = await hass_client()
    url = module_url(ha)
    assert url.startswith("/powerstats_static/")
    base = url.removesuffix("ha-panel.js")
    for relative in ("ha-panel.js", "js/picker.js", "styles.css", "vendor/chart.min.js"):
        response = await client.get(base + relative)
        assert response.status == HTTPStatus.OK, relative
        assert await response.read() == (INTEGRATION / "frontend" / relative).read_bytes()


@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_the_panel_files_go_compressed_from_their_precompressed_siblings(
    ha: HomeAssistant, hass_client: ClientSessionGenerator, encoding: str
) -> None:
    await start(ha)
    client = await hass_client()
    base = module_url(ha).removesuffix("ha-panel.js")
    for relative in ("ha-panel.js", "js/picker.js", "styles.css", "vendor/chart.min.js"):
        sibling = INTEGRATION / "frontend" / f"{relative}{SUFFIX[encoding]}"
        assert sibling.is_file(), f"{sibling} is missing: run scripts/package"
        response = await client.get(base + relative, headers={"Accept-Encoding": encoding})
        assert response.status == HTTPStatus.OK, relative
        assert response.headers["Content-Encoding"] == encoding
        assert response.headers["Content-Length"] == str(sibling.stat().st_size)
        assert await response.read() == (INTEGRATION / "frontend" / relative).read_bytes()


async def test_the_data_view_serves_the_manifest_and_its_files_to_a_logged_in_client(
    ha: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    await start(ha)
    client = await hass_client()
    response = await client.get("/api/powerstats/data/manifest.json")
    assert response.status == HTTPStatus.OK
    manifest = json.loads(await response.read())
    assert manifest["format"] == "powerstats/1"
    (meter,) = manifest["meters"]
    for entry in meter["files"].values():
        listed = await client.get(f"/api/powerstats/data/{entry['path']}")
        assert listed.status == HTTPStatus.OK
        assert json.loads(await listed.read())["meter"]["id"] == meter["id"]


async def test_the_data_view_refuses_a_client_without_auth(
    ha: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> None:
    await start(ha)
    client = await hass_client_no_auth()
    response = await client.get("/api/powerstats/data/manifest.json")
    assert response.status == HTTPStatus.UNAUTHORIZED


async def test_unloading_the_last_meter_removes_the_panel(ha: HomeAssistant) -> None:
    entry = await start(ha)
    assert await ha.config_entries.async_unload(entry.entry_id)
    await ha.async_block_till_done()
    assert PANEL_URL_PATH not in ha.data[frontend.DATA_PANELS]


async def test_reloading_brings_the_panel_back_at_the_same_address(ha: HomeAssistant) -> None:
    entry = await start(ha)
    before = module_url(ha)
    assert await ha.config_entries.async_reload(entry.entry_id)
    await ha.async_block_till_done()
    assert module_url(ha) == before


# What a browser needs each kind of file to be labelled: a module served as anything but
# JavaScript is refused, a stylesheet not labelled text/css is ignored.
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".md": "text/markdown",
}


@pytest.mark.parametrize("encoding", ["identity", "br", "gzip"])
async def test_every_panel_file_is_labelled_with_its_own_content_type(
    ha: HomeAssistant, hass_client: ClientSessionGenerator, encoding: str
) -> None:
    await start(ha)
    client = await hass_client()
    base = module_url(ha).removesuffix("ha-panel.js")
    folder = INTEGRATION / "frontend"
    shipped = [p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".br", ".gz")]
    assert {p.suffix for p in shipped} <= CONTENT_TYPES.keys()
    for path in shipped:
        relative = path.relative_to(folder).as_posix()
        response = await client.get(base + relative, headers={"Accept-Encoding": encoding})
        assert response.status == HTTPStatus.OK, relative
        assert response.headers["Content-Type"].split(";")[0] == CONTENT_TYPES[path.suffix]
