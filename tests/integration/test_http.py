"""The authenticated data view: exactly the listed files, ETag/304, 404 for anything else."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant

from custom_components.powerstats.const import DOMAIN

from .conftest import SOURCE, Clock, at, make_entry, served

type ClientFactory = Callable[[], Awaitable[TestClient[Any, Any]]]
URL = "/api/powerstats/data/"


@pytest.fixture
async def meter_loaded(ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "100", {"unit_of_measurement": "W"})
    entry = make_entry(options={"levels": ["daily", "monthly"]})
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await move_to(at(2026, 11, 26, 12, 10))


@pytest.mark.usefixtures("meter_loaded")
@pytest.mark.parametrize("path", ["manifest.json", "house/daily.json", "house/monthly.json"])
async def test_a_listed_file_is_served_with_its_hash_as_etag(
    ha: HomeAssistant, hass_client: ClientFactory, path: str
) -> None:
    client = await hass_client()
    response = await client.get(URL + path)
    assert response.status == 200
    body = await response.read()
    assert body == served(ha, path)
    assert response.headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"'
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.usefixtures("meter_loaded")
async def test_a_listed_file_goes_compressed_to_a_client_that_accepts_gzip(
    ha: HomeAssistant, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    packed = await client.get(URL + "house/daily.json", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert await packed.read() == served(ha, "house/daily.json")
    plain = await client.get(URL + "house/daily.json", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert await plain.read() == served(ha, "house/daily.json")


@pytest.mark.usefixtures("meter_loaded")
async def test_a_matching_if_none_match_gets_304(hass_client: ClientFactory) -> None:
    client = await hass_client()
    first = await client.get(URL + "manifest.json")
    etag = first.headers["ETag"]
    again = await client.get(URL + "manifest.json", headers={"If-None-Match": f'W/"x", {etag}'})
    assert again.status == 304
    assert await again.read() == b""
    stale = await client.get(URL + "manifest.json", headers={"If-None-Match": '"stale"'})
    assert stale.status == 200


@pytest.mark.usefixtures("meter_loaded")
@pytest.mark.parametrize(
    "path",
    [
        "house/weekly.json",  # exists as a level, but not listed (left out in the options)
        "house/daily.json.tmp",
        "other/daily.json",
        "manifest.json/",
    ],
)
async def test_any_other_path_is_404(hass_client: ClientFactory, path: str) -> None:
    client = await hass_client()
    response = await client.get(URL + path)
    assert response.status == 404


@pytest.mark.usefixtures("meter_loaded")
async def test_an_unauthenticated_request_is_refused(hass_client_no_auth: ClientFactory) -> None:
    client = await hass_client_no_auth()
    response = await client.get(URL + "manifest.json")
    assert response.status == 401


@pytest.mark.usefixtures("meter_loaded")
@pytest.mark.parametrize(
    "path", ["..%2F..%2Fsecrets.yaml", "%2Fetc%2Fpasswd", "house%2F..%2F..%2Fconfiguration.yaml"]
)
async def test_a_traversal_or_absolute_path_is_refused(
    hass_client: ClientFactory, path: str
) -> None:
    client = await hass_client()
    response = await client.get(URL + path)
    # HA's security filter answers 400 before the view sees some of these; the view 404s the rest.
    assert response.status in (400, 404)
    assert b"homeassistant" not in await response.read()


@pytest.mark.usefixtures("meter_loaded")
async def test_after_the_last_meter_is_unloaded_everything_is_404(
    ha: HomeAssistant, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    assert (await client.get(URL + "manifest.json")).status == 200
    (entry,) = ha.config_entries.async_entries(DOMAIN)
    assert await ha.config_entries.async_unload(entry.entry_id)
    assert (await client.get(URL + "manifest.json")).status == 404
