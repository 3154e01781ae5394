"""Where a restore reads from: the failures of a source, one by one, as the user is told them.

The whole restore is tested in test_restore.py; here each way a source can go wrong is named
and shown to leave the reader with a `SourceError` that the action turns into a translated error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from homeassistant.core import HomeAssistant

from custom_components.powerstats.core.restore_plan import PublishedFile
from custom_components.powerstats.restore_source import (
    FolderSource,
    SourceError,
    UrlSource,
    folder_url,
    resolve_folder,
)

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def listed(path: str, size: int) -> PublishedFile:
    return PublishedFile("house", "daily", path, "0" * 64, size)


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start a loopback web server answering every path with `handler`; yields its starter."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}/published"

    yield start
    for runner in runners:
        await runner.cleanup()


def test_a_folder_address_gets_its_slash_and_loses_the_manifest_and_query() -> None:
    assert folder_url("https://alice.github.io/energy") == "https://alice.github.io/energy/"
    assert (
        folder_url("https://alice.github.io/energy/manifest.json?x=1#top")
        == "https://alice.github.io/energy/"
    )


async def test_an_answer_longer_than_the_manifest_says_is_cut_off_while_it_streams(
    hass: HomeAssistant, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no length to refuse up front
        await response.prepare(request)
        for _ in range(4):
            await response.write(b"[" * 1024)
        await response.write_eof()
        return response

    source = UrlSource(hass, await serve(endless))
    with pytest.raises(SourceError) as caught:
        await source.read_files([listed("house/daily.json", 1500)])
    assert caught.value.key == "restore_file_too_large"


async def test_a_connection_dropped_midway_is_named_as_a_failed_fetch(
    hass: HomeAssistant, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    async def dropped(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "4096"})
        await response.prepare(request)
        await response.write(b"{")
        assert request.transport is not None
        request.transport.close()
        return response

    source = UrlSource(hass, await serve(dropped))
    with pytest.raises(SourceError) as caught:
        await source.read_manifest()
    assert caught.value.key == "restore_fetch_failed"
    assert caught.value.placeholders["url"].endswith("/published/manifest.json")


async def test_a_listed_file_missing_from_the_folder_is_named(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    source = FolderSource(hass, tmp_path)
    with pytest.raises(SourceError) as caught:
        await source.read_files([listed("house/daily.json", 100)])
    assert caught.value.key == "restore_file_missing"


async def test_a_listed_file_that_leads_outside_the_folder_is_not_read(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    folder, secret = tmp_path / "published", tmp_path / "secret.json"
    (folder / "house").mkdir(parents=True)
    secret.write_text("{}")
    (folder / "house" / "daily.json").symlink_to(secret)
    with pytest.raises(SourceError) as caught:
        await FolderSource(hass, folder).read_files([listed("house/daily.json", 2)])
    assert caught.value.key == "restore_file_outside"


async def test_a_local_file_longer_than_the_manifest_says_is_refused(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    (tmp_path / "house").mkdir()
    (tmp_path / "house" / "daily.json").write_bytes(b"[" * 200)
    with pytest.raises(SourceError) as caught:
        await FolderSource(hass, tmp_path).read_files([listed("house/daily.json", 100)])
    assert caught.value.key == "restore_file_too_large"


async def test_the_manifest_itself_may_be_given_as_the_folder(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    hass.config.config_dir = str(tmp_path)
    (tmp_path / "published").mkdir()
    (tmp_path / "published" / "manifest.json").write_text("{}")
    folder = await hass.async_add_executor_job(resolve_folder, hass, "published/manifest.json")
    assert folder == (tmp_path / "published").resolve()


async def test_a_folder_that_is_not_there_is_named(hass: HomeAssistant, tmp_path: Path) -> None:
    hass.config.config_dir = str(tmp_path)
    with pytest.raises(SourceError) as caught:
        await hass.async_add_executor_job(resolve_folder, hass, "no-such-folder")
    assert caught.value.key == "restore_folder_missing"
