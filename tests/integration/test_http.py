"""The authenticated data view: exactly the listed files, ETag/304, 404 for anything else,
read-only, and never kept by a cache for anyone else."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockUser,
)

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


@pytest.mark.usefixtures("meter_loaded")
@pytest.mark.parametrize(
    ("path", "if_none_match", "status"),
    [("manifest.json", None, 200), ("manifest.json", "*", 304), ("other/daily.json", None, 404)],
)
async def test_every_answer_is_for_the_user_alone_and_checked_again_before_use(
    hass_client: ClientFactory, path: str, if_none_match: str | None, status: int
) -> None:
    client = await hass_client()
    headers = {"If-None-Match": if_none_match} if if_none_match else {}
    response = await client.get(URL + path, headers=headers)
    assert response.status == status
    # A shared cache (a proxy in front of HA) must not keep what one user was allowed to read;
    # a browser must not show it again without asking, or a publish would go unseen.
    directives = {d.strip() for d in response.headers["Cache-Control"].split(",")}
    assert {"private", "no-cache"} <= directives
    assert not directives & {"public", "immutable"}
    assert not any(d.startswith(("max-age", "s-maxage")) for d in directives)


@pytest.mark.usefixtures("meter_loaded")
async def test_head_answers_as_get_does_without_the_body(
    ha: HomeAssistant, hass_client: ClientFactory
) -> None:
    client = await hass_client()
    plain = {"Accept-Encoding": "identity"}
    got = await client.get(URL + "house/daily.json", headers=plain)
    head = await client.head(URL + "house/daily.json", headers=plain)
    assert head.status == 200
    assert await head.read() == b""
    for name in ("ETag", "Cache-Control", "Content-Type"):
        assert head.headers[name] == got.headers[name], name
    assert head.headers["Content-Length"] == str(len(served(ha, "house/daily.json")))
    unchanged = await client.head(URL + "house/daily.json", headers={"If-None-Match": "*"})
    assert unchanged.status == 304
    assert (await client.head(URL + "other/daily.json")).status == 404


@pytest.mark.usefixtures("meter_loaded")
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_the_files_cannot_be_written_or_deleted(
    ha: HomeAssistant, hass_client: ClientFactory, method: str
) -> None:
    client = await hass_client()
    response = await client.request(method, URL + "manifest.json", data=b"{}")
    assert response.status == 405
    assert (await client.get(URL + "manifest.json")).status == 200
    assert await (await client.get(URL + "manifest.json")).read() == served(ha, "manifest.json")


@pytest.mark.usefixtures("meter_loaded")
async def test_a_long_lived_token_of_a_user_who_is_not_an_admin_reads_the_files(
    ha: HomeAssistant, hass_client_no_auth: ClientFactory, hass_read_only_user: MockUser
) -> None:
    # docs/agent.md: the board's token belongs to a dedicated user without admin rights.
    refresh = await ha.auth.async_create_refresh_token(
        hass_read_only_user,
        client_name="PowerStats agent",
        token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
        access_token_expiration=timedelta(days=3650),
    )
    token = ha.auth.async_create_access_token(refresh)
    client = await hass_client_no_auth()
    response = await client.get(URL + "manifest.json", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert await response.read() == served(ha, "manifest.json")
    forged = await client.get(URL + "manifest.json", headers={"Authorization": f"Bearer {token}x"})
    assert forged.status == 401
