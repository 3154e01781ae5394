"""Where a restore reads from: the failures of a source, one by one, as the user is told them.

The whole restore is tested in test_restore.py; here each way a source can go wrong is named
and shown to leave the reader with a `SourceError` that the action turns into a translated error.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from homeassistant.core import HomeAssistant

from custom_components.powerstats.core.restore_plan import PublishedFile
from custom_components.powerstats.restore_source import (
    MAX_REDIRECTS,
    READ_DEADLINE,
    READ_TIMEOUT,
    FolderSource,
    SourceError,
    UrlSource,
    folder_url,
    is_url,
    resolve_folder,
    shown,
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


@pytest.mark.parametrize("name", ["manifest.json", "house/daily.json"])
async def test_a_pipe_named_like_a_dataset_file_is_refused_without_waiting_for_a_writer(
    hass: HomeAssistant, tmp_path: Path, name: str
) -> None:
    (tmp_path / "house").mkdir()
    pipe = tmp_path / name
    os.mkfifo(pipe)
    source = FolderSource(hass, tmp_path)
    read = (
        source.read_manifest() if name == "manifest.json" else source.read_files([listed(name, 9)])
    )
    try:
        # Only a guard: opened for reading, the pipe would hold an executor thread for ever.
        async with asyncio.timeout(30):
            with pytest.raises(SourceError) as caught:
                await read
    finally:
        with contextlib.suppress(OSError):  # ENXIO: no reader waits, as it should be
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    assert caught.value.key == "restore_not_a_file"
    assert caught.value.placeholders == {"path": str(pipe.resolve())}


async def test_a_folder_named_like_a_dataset_file_is_refused_as_no_regular_file(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    (tmp_path / "house" / "daily.json").mkdir(parents=True)
    with pytest.raises(SourceError) as caught:
        await FolderSource(hass, tmp_path).read_files([listed("house/daily.json", 9)])
    assert caught.value.key == "restore_not_a_file"


async def test_a_dataset_file_that_cannot_be_opened_is_named_as_unreadable_not_as_a_full_disk(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "house").mkdir()
    (tmp_path / "house" / "daily.json").write_bytes(b"[]")
    opened = os.open

    def refusing(path: Path | str, flags: int, *args: int) -> int:
        # Root, as tests may run, reads a file whatever its mode: a share that refuses it.
        if Path(path).name == "daily.json":
            raise PermissionError(13, "Permission denied")
        return opened(path, flags, *args)

    monkeypatch.setattr(os, "open", refusing)
    with pytest.raises(SourceError) as caught:
        await FolderSource(hass, tmp_path).read_files([listed("house/daily.json", 9)])
    assert caught.value.key == "restore_file_unreadable"
    assert caught.value.placeholders["error"] == "Permission denied"


async def test_a_folder_read_ends_at_the_deadline_of_the_whole_read(
    hass: HomeAssistant,
    tmp_path: Path,
    advance: Callable[[float], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "house").mkdir()
    files = [listed(f"house/{level}.json", 2) for level in ("daily", "weekly", "monthly")]
    for file in files:
        (tmp_path / file.path).write_bytes(b"[]")
    read: list[str] = []
    release, finished = threading.Event(), threading.Event()
    read_one, read_all = FolderSource._read, FolderSource._read_all

    def stalling(source: FolderSource, relative: str, limit: int) -> bytes:
        read.append(relative)
        if relative == "house/weekly.json":  # a network share that stopped answering
            advance(READ_DEADLINE)
            hass.loop.call_soon_threadsafe(lambda: None)  # the loop sees its clock moved
            release.wait(30)
        return read_one(source, relative, limit)

    def noting_the_end(source: FolderSource, wanted: list[tuple[str, int]]) -> dict[str, bytes]:
        try:
            return read_all(source, wanted)
        finally:
            finished.set()

    monkeypatch.setattr(FolderSource, "_read", stalling)
    monkeypatch.setattr(FolderSource, "_read_all", noting_the_end)
    try:
        with pytest.raises(SourceError) as caught:
            await FolderSource(hass, tmp_path).read_files(files)
    finally:
        release.set()
    # Its own words: "copy the folder into the config folder" would not help a folder.
    assert caught.value.key == "restore_folder_too_slow"
    assert caught.value.placeholders == {"seconds": str(READ_DEADLINE)}
    assert await hass.async_add_executor_job(finished.wait, 30)
    assert read == ["house/daily.json", "house/weekly.json"]  # none after the deadline


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


@pytest.mark.parametrize("where", ["config folder", "elsewhere"])
async def test_a_folder_name_longer_than_the_file_system_allows_is_refused_clearly(
    hass: HomeAssistant, tmp_path: Path, where: str
) -> None:
    # Outside the config folder HA's own allow-list check stats it first, and fails alike.
    config = tmp_path / "config"
    config.mkdir()
    hass.config.config_dir = str(config)
    name = "e" * 300
    raw = name if where == "config folder" else str(tmp_path / name)
    with pytest.raises(SourceError) as caught:
        await hass.async_add_executor_job(resolve_folder, hass, raw)
    assert caught.value.key == "restore_folder_unreadable"
    assert caught.value.placeholders["path"] == raw
    assert "255 bytes" in caught.value.placeholders["error"]


# -- addresses ----------------------------------------------------------------------------------

SECRET = "secretpw"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (f"http://alice:{SECRET}@/published/", "names no host"),
        (f"http://alice:{SECRET}@pages.example:99999/published/", "cannot be read"),
        (f"http://alice:{SECRET}@[bad/published/", "cannot be read"),
        (f"https://alice:{SECRET}@pages.example:0/", "port is 0"),
        (f"http:alice:{SECRET}@published", "names no host"),
    ],
)
async def test_an_address_that_cannot_be_read_is_refused_clearly_without_its_password(
    hass: HomeAssistant, source: str, reason: str
) -> None:
    assert is_url(source)
    assert SECRET not in shown(source)
    with pytest.raises(SourceError) as caught:
        UrlSource(hass, source)
    assert caught.value.key == "restore_invalid_url"
    assert reason in caught.value.placeholders["reason"]
    assert SECRET not in str(caught.value)


PART = "4711"


@pytest.mark.parametrize(
    "source",
    [
        f"https://alice:{PART}/{SECRET}@pages.example/published/",
        f"https://alice:{PART}?{SECRET}@pages.example/published/",
        f"https://alice:{PART}#{SECRET}@pages.example/published/",
        f"https://alice:/{SECRET}@pages.example/published/",
        f"https://{PART}/{SECRET}@pages.example/published/",  # a token given as the user
    ],
)
async def test_a_password_holding_a_slash_is_refused_and_no_part_of_it_is_shown(
    hass: HomeAssistant, source: str
) -> None:
    # Split at its '/', '?' or '#', such a password reads as a host and port, then a path.
    with pytest.raises(SourceError) as caught:
        UrlSource(hass, source)
    assert caught.value.key == "restore_invalid_url"
    assert "%2F" in caught.value.placeholders["reason"]
    for part in (PART, SECRET):
        assert part not in shown(source)
        assert part not in str(caught.value)


@pytest.mark.parametrize(
    "source",
    [
        "http://\x00/",  # once passed on to the resolver, which raised a TypeError
        f"http://alice:{SECRET}@pages.exa\nmple/published/",  # read as pages.example
        f"https://alice:{SECRET}@pages.example/published/\r\n",
        "https://pages.example/\x7fpublished/",
        "https://pages.example/\x85published/",  # a C1 control (NEXT LINE)
    ],
)
async def test_an_address_holding_a_control_character_is_refused_and_not_shown(
    hass: HomeAssistant, source: str
) -> None:
    assert is_url(source)
    with pytest.raises(SourceError) as caught:
        UrlSource(hass, source)
    assert caught.value.key == "restore_invalid_url"
    assert "control character" in caught.value.placeholders["reason"]
    assert shown(source) in ("http://…", "https://…")


async def test_an_address_aiohttp_cannot_use_is_named_without_its_password(
    hass: HomeAssistant,
) -> None:
    # A host name too long for IDNA passes the split, and aiohttp's error text is the address.
    source = f"http://alice:{SECRET}@{'é' * 70}/published/"
    with pytest.raises(SourceError) as caught:
        await UrlSource(hass, source).read_manifest()
    assert caught.value.key == "restore_fetch_failed"
    assert caught.value.placeholders["error"] == "the address is not valid"
    assert SECRET not in str(caught.value)


async def test_a_file_too_large_is_named_without_the_password_of_its_address(
    hass: HomeAssistant, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    async def large(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"[" * 2000)

    url = (await serve(large)).replace("http://", f"http://alice:{SECRET}@")
    with pytest.raises(SourceError) as caught:
        await UrlSource(hass, url).read_files([listed("house/daily.json", 1500)])
    assert caught.value.key == "restore_file_too_large"
    assert SECRET not in str(caught.value)


# -- redirects and the deadline -----------------------------------------------------------------


async def test_a_redirect_within_the_site_is_followed(
    hass: HomeAssistant, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    async def moved(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/published/"):
            raise web.HTTPMovedPermanently(request.path.replace("/published/", "/energy/"))
        return web.Response(body=request.path.encode())

    assert await UrlSource(hass, await serve(moved)).read_manifest() == b"/energy/manifest.json"


async def test_endless_redirects_are_refused_after_a_few(
    hass: HomeAssistant, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    hops: list[str] = []

    async def loop(request: web.Request) -> web.StreamResponse:
        hops.append(request.path)
        raise web.HTTPFound(f"/hop{len(hops)}/manifest.json")

    with pytest.raises(SourceError) as caught:
        await UrlSource(hass, await serve(loop)).read_manifest()
    assert caught.value.key == "restore_too_many_redirects"
    assert len(hops) == MAX_REDIRECTS + 1


def self_signed(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for 127.0.0.1, and a client one trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server, ssl.create_default_context(cafile=str(cert_file))


@pytest.fixture
async def serve_tls(
    socket_enabled: None, tmp_path: Path
) -> AsyncIterator[Callable[[Handler], Awaitable[tuple[str, ssl.SSLContext]]]]:
    """Like `serve`, over https with a fresh certificate; yields the starter of such servers.

    Each started server gives its address and a client TLS context that trusts it.
    """
    runners: list[web.AppRunner] = []
    server_tls, client_tls = self_signed(tmp_path)

    async def start(handler: Handler) -> tuple[str, ssl.SSLContext]:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls).start()
        runners.append(runner)
        return f"https://127.0.0.1:{runner.addresses[0][1]}/published/", client_tls

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def trusting(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Callable[[ssl.SSLContext], None]]:
    """Makes the sources use a session that trusts the given TLS context."""
    sessions: list[aiohttp.ClientSession] = []

    def trust(client_tls: ssl.SSLContext) -> None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls))
        sessions.append(session)
        monkeypatch.setattr(
            "custom_components.powerstats.restore_source.async_get_clientsession",
            lambda hass: session,
        )

    yield trust
    for session in sessions:
        await session.close()


async def test_a_redirect_from_https_to_plain_http_is_refused(
    hass: HomeAssistant,
    serve: Callable[[Handler], Awaitable[str]],
    serve_tls: Callable[[Handler], Awaitable[tuple[str, ssl.SSLContext]]],
    trusting: Callable[[ssl.SSLContext], None],
) -> None:
    asked: list[str] = []

    async def plain(request: web.Request) -> web.StreamResponse:
        asked.append(request.path)
        return web.Response(body=b"{}")

    downgraded = await serve(plain)

    async def secure(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(downgraded + "/manifest.json")

    url, client_tls = await serve_tls(secure)
    trusting(client_tls)
    with pytest.raises(SourceError) as caught:
        await UrlSource(hass, url).read_manifest()
    assert caught.value.key == "restore_insecure_redirect"
    assert caught.value.placeholders["target"] == downgraded + "/manifest.json"
    assert asked == []


@pytest.mark.parametrize("location", ["ftp://pages.example/manifest.json", "http://[bad/x"])
async def test_a_redirect_to_an_address_that_is_not_valid_is_refused(
    hass: HomeAssistant, serve: Callable[[Handler], Awaitable[str]], location: str
) -> None:
    async def away(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    with pytest.raises(SourceError) as caught:
        await UrlSource(hass, await serve(away)).read_manifest()
    assert caught.value.key == "restore_fetch_failed"
    assert caught.value.placeholders["error"] == "it redirects to an address that is not valid"


async def test_a_host_that_refuses_the_connection_is_named(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    with socket.socket() as closed:  # a loopback port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(SourceError) as caught:
        await UrlSource(hass, f"http://127.0.0.1:{port}/published/").read_manifest()
    assert caught.value.key == "restore_fetch_failed"
    assert caught.value.placeholders["error"] == "could not connect to the host"


@pytest.fixture
def advance(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Moves the event loop's clock (the one aiohttp's time-outs and the deadline read)."""
    real_time = hass.loop.time
    elapsed = [0.0]
    monkeypatch.setattr(hass.loop, "time", lambda: real_time() + elapsed[0])

    def by(seconds: float) -> None:
        elapsed[0] += seconds

    return by


async def test_a_request_that_gets_no_answer_ends_at_its_own_time_out(
    hass: HomeAssistant,
    serve: Callable[[Handler], Awaitable[str]],
    advance: Callable[[float], None],
) -> None:
    never = asyncio.Event()

    async def silent(request: web.Request) -> web.StreamResponse:
        advance(READ_TIMEOUT + 10)  # past the request's time-out, well before the deadline
        await never.wait()
        return web.Response(status=500)

    try:
        with pytest.raises(SourceError) as caught:
            await UrlSource(hass, await serve(silent)).read_manifest()
    finally:
        never.set()  # so the server can stop
    assert caught.value.key == "restore_fetch_failed"
    assert caught.value.placeholders["error"] == "no answer in time"


async def test_the_whole_read_ends_at_one_deadline_though_each_file_answers_in_time(
    hass: HomeAssistant,
    serve: Callable[[Handler], Awaitable[str]],
    advance: Callable[[float], None],
) -> None:
    # Each answer takes 50 s of the loop's clock: within a request's time-out, but the fourth
    # request ends past the deadline of the whole read.
    answered: list[str] = []

    async def slow(request: web.Request) -> web.StreamResponse:
        advance(50)
        answered.append(request.path)
        return web.Response(body=b"[]")

    source = UrlSource(hass, await serve(slow))
    await source.read_manifest()
    files = [listed(f"house/{level}.json", 2) for level in ("daily", "weekly", "monthly")]
    with pytest.raises(SourceError) as caught:
        await source.read_files(files)
    assert caught.value.key == "restore_too_slow"
    # The manifest, daily and weekly came within 150 s; monthly's answer came at 200 s.
    assert len(answered) == 4
    assert caught.value.placeholders == {"seconds": str(READ_DEADLINE)}


async def test_a_folder_name_holding_a_nul_character_is_named_as_missing(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    hass.config.config_dir = str(tmp_path)
    with pytest.raises(SourceError) as caught:
        await hass.async_add_executor_job(resolve_folder, hass, "published\x00")
    assert caught.value.key == "restore_folder_missing"


def test_a_folder_is_shown_as_typed_with_its_control_characters_escaped() -> None:
    # A log line or a message must not be broken (or a fake line added) by a typed folder.
    assert shown("powerstats.before-20261203") == "powerstats.before-20261203"
    assert shown("copy\nWARNING forged\x00") == "copy\\nWARNING forged\\x00"
