"""Where a restore reads from: a published folder over HTTP(S), or a folder on this machine.

The shell half of `powerstats.restore` (core/restore_plan.py checks what is read). Over HTTP the
folder is GitHub Pages, a raw repository URL or the board's mirror, fetched with Home
Assistant's shared client session, with time limits and never more bytes than the manifest
promises. Redirects are followed by hand and never from https to http: someone on the way
could then change a file and the manifest's sha256 of it alike. A local folder is read in the
executor, within the same deadline, and only its regular files are opened. Only the manifest
and the level files it lists (`<meter>/<level>.json`, checked by the plan) are ever asked for.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import SplitResult, urljoin, urlsplit

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .core.restore_plan import MAX_FILE_BYTES, MAX_MANIFEST_BYTES, PublishedFile

MANIFEST: Final = "manifest.json"
# A published folder is a few hundred kilobytes: a slow board or Pages still answers in time.
CONNECT_TIMEOUT: Final = 10
READ_TIMEOUT: Final = 60
# The whole read (the manifest and every level file, redirects included) ends by then, so a
# source that answers each request just inside READ_TIMEOUT cannot hold the action for long.
READ_DEADLINE: Final = 180
# Pages redirects a folder given without its slash; a moved site adds one or two more.
MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_SCHEMES: Final = ("http", "https")
# A local file is opened for reading bytes without ever waiting (a pipe waits for a writer)
# or becoming a terminal's; the flags a platform lacks are left out.
_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | getattr(os, "O_BINARY", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
)


class SourceError(Exception):
    """The source could not be read; `key` names the translation, `placeholders` fill it."""

    def __init__(self, key: str, **placeholders: str) -> None:
        super().__init__(f"{key}: {placeholders}")
        self.key = key
        self.placeholders = placeholders


@dataclass(frozen=True, slots=True)
class FolderBytes:
    """What was read from a source: the manifest, then the level files by relative path."""

    manifest: bytes
    files: dict[str, bytes]


def is_url(source: str) -> bool:
    """Whether the source names an HTTP(S) location rather than a folder. Never raises."""
    try:
        return urlsplit(source).scheme.lower() in _SCHEMES
    except ValueError:
        # Only a malformed host part ("http://[bad/") fails to split: it was meant as an address.
        return source.strip().lower().startswith(("http:", "https:"))


def _url_problem(url: str) -> str | None:
    """Why `url` is no address a restore can read from, or None when it is one."""
    if _has_control_character(url):
        # urlsplit drops a line break or tab without a word and passes a NUL on to the resolver:
        # what would be asked for is not what was written.
        return (
            "it holds a control character (a line break, a tab or another that cannot be typed); "
            "write the address on one line as plain text"
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is no number up to 65535
    except ValueError:
        return "it cannot be read as an address (check the host and the port)"
    if parts.scheme.lower() not in _SCHEMES:
        return "it does not start with http:// or https://"
    if not parts.hostname:
        return "it names no host"
    if port == 0:
        return "its port is 0"
    return None


def _has_control_character(text: str) -> bool:
    return any(unicodedata.category(character) == "Cc" for character in text)


def _at_after_host(parts: SplitResult) -> bool:
    """Whether an '@' follows the host part: a '/', '?' or '#' left unencoded in a user or
    password ends the host part early, so what reads as host, port and path holds some of it."""
    return "@" in parts.path or "@" in parts.query or "@" in parts.fragment


def checked_url(source: str) -> str:
    """The source, once it is shown to be an http(s) address with a host and a valid port."""
    if (problem := _url_problem(source)) is not None:
        raise SourceError("restore_invalid_url", reason=problem)
    if _at_after_host(urlsplit(source)):
        # Read as given, the request would go to a host named by part of the password.
        raise SourceError(
            "restore_invalid_url",
            reason=(
                "it holds an '@' after the host; write a '/', '?' or '#' in the user or password "
                "as %2F, %3F or %23, and an '@' in the path as %40"
            ),
        )
    return source


def folder_url(source: str) -> str:
    """The folder's URL ending in '/', whether the user gave the folder or its manifest."""
    parts = urlsplit(source)
    path = parts.path.removesuffix(MANIFEST)
    if not path.endswith("/"):
        path += "/"
    return parts._replace(path=path, query="", fragment="").geturl()


def shown(source: str) -> str:
    """The source as it may be shown and logged: an address without user, password or query.

    Never raises. Of an address without a readable host, with an '@' after it, or with a
    control character, only the scheme is shown: where its password ends cannot be told (urlsplit
    drops a line break), and a control character would garble the message or the log line.
    """
    if not is_url(source):
        # A folder: shown as typed, but a control character in it written as an escape.
        return "".join(
            c.encode("unicode_escape").decode() if unicodedata.category(c) == "Cc" else c
            for c in source
        )
    try:
        parts = urlsplit(source)
        hidden = _at_after_host(parts) or _has_control_character(source)
        netloc = None if hidden else _host_and_port(parts)
    except ValueError:
        netloc = None
    if not netloc:
        scheme = "https" if source.strip().lower().startswith("https") else "http"
        return f"{scheme}://…"
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def _host_and_port(parts: SplitResult) -> str:
    """The address's host and port, without its user and password ('' without a host)."""
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if host and parts.port is not None:
        netloc += f":{parts.port}"
    return netloc


def _url_error(url: str, reason: str) -> SourceError:
    return SourceError("restore_fetch_failed", url=shown(url), error=reason)


def _client_error_text(err: aiohttp.ClientError) -> str:
    """What went wrong, in fixed words: aiohttp's own texts may hold the address and password."""
    if isinstance(err, aiohttp.InvalidURL):
        return "the address is not valid"
    if isinstance(err, aiohttp.ClientSSLError):
        return "the secure connection failed (is the certificate valid?)"
    if isinstance(err, aiohttp.ClientConnectorError):
        return "could not connect to the host"
    if isinstance(err, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "the connection closed before the whole answer came"
    return type(err).__name__


def _redirected(url: str, location: str) -> str:
    """Where a redirect from `url` leads; refused when it leaves http(s) or https for http."""
    try:
        target = urljoin(url, location)
    except ValueError:
        target = location
    if _url_problem(target) is not None:
        raise _url_error(url, "it redirects to an address that is not valid")
    if urlsplit(url).scheme.lower() == "https" and urlsplit(target).scheme.lower() == "http":
        raise SourceError("restore_insecure_redirect", url=shown(url), target=shown(target))
    return target


class UrlSource:
    """A published folder served over HTTP(S), all of it read within READ_DEADLINE seconds.

    Raises `SourceError` for a source that is no http(s) address with a host and a valid port.
    """

    def __init__(self, hass: HomeAssistant, source: str) -> None:
        self._session = async_get_clientsession(hass)
        self.base = folder_url(checked_url(source))
        self._deadline = hass.loop.time() + READ_DEADLINE

    async def read_manifest(self) -> bytes:
        """The folder's manifest.json."""
        return await self._get(MANIFEST, MAX_MANIFEST_BYTES)

    async def read_files(self, files: Iterable[PublishedFile]) -> dict[str, bytes]:
        """Each listed file, at most the size the manifest gives it (the plan checks more)."""
        return {f.path: await self._get(f.path, min(f.size, MAX_FILE_BYTES)) for f in files}

    async def _get(self, path: str, limit: int) -> bytes:
        """One file of the folder, within the deadline of the whole read."""
        try:
            async with asyncio.timeout_at(self._deadline):
                return await self._follow(self.base + path, limit)
        except TimeoutError:
            # Each request turns its own time-out into a SourceError: this is the deadline.
            raise SourceError("restore_too_slow", seconds=str(READ_DEADLINE)) from None

    async def _follow(self, url: str, limit: int) -> bytes:
        """The body at `url`, following at most MAX_REDIRECTS redirects."""
        first = url
        for _ in range(MAX_REDIRECTS + 1):
            location = await self._fetch(url, limit)
            if isinstance(location, bytes):
                return location
            url = _redirected(url, location)
        raise SourceError("restore_too_many_redirects", url=shown(first), count=str(MAX_REDIRECTS))

    async def _fetch(self, url: str, limit: int) -> bytes | str:
        """The body at `url`, or where a redirect leads (the Location, as given)."""
        timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, total=READ_TIMEOUT)
        try:
            async with self._session.get(url, timeout=timeout, allow_redirects=False) as response:
                if response.status in _REDIRECTS and "Location" in response.headers:
                    return response.headers["Location"]
                if response.status != 200:
                    raise _url_error(url, f"HTTP {response.status}")
                if (response.content_length or 0) > limit:
                    raise _too_large(url, limit)
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > limit:
                        raise _too_large(url, limit)
                return bytes(body)
        except TimeoutError:
            raise _url_error(url, "no answer in time") from None
        except aiohttp.ClientError as err:
            raise _url_error(url, _client_error_text(err)) from None


def _too_large(where: str, limit: int) -> SourceError:
    # One byte past what the manifest promised is as wrong as a megabyte: the sizes must match.
    return SourceError("restore_file_too_large", path=shown(where), limit=str(limit))


class FolderSource:
    """A published folder on this machine (a copy of the repository, or of the board's web root),
    all of it read within READ_DEADLINE seconds, as an address is."""

    def __init__(self, hass: HomeAssistant, folder: Path) -> None:
        self._hass = hass
        self.folder = folder
        self._deadline = hass.loop.time() + READ_DEADLINE
        # Set when the deadline passed: the read left running reads no further file.
        self._abandoned = threading.Event()

    async def read_manifest(self) -> bytes:
        """The folder's manifest.json."""
        return (await self._read_in_time([(MANIFEST, MAX_MANIFEST_BYTES)]))[MANIFEST]

    async def read_files(self, files: Iterable[PublishedFile]) -> dict[str, bytes]:
        """Each listed file, at most the size the manifest gives it."""
        return await self._read_in_time([(f.path, min(f.size, MAX_FILE_BYTES)) for f in files])

    async def _read_in_time(self, wanted: list[tuple[str, int]]) -> dict[str, bytes]:
        """The files, read in the executor, within the deadline of the whole read.

        A thread stuck in a read (a network share that stopped answering) cannot be stopped:
        the action returns at the deadline all the same.
        """
        try:
            async with asyncio.timeout_at(self._deadline):
                return await self._hass.async_add_executor_job(self._read_all, wanted)
        except TimeoutError:
            self._abandoned.set()
            raise SourceError("restore_folder_too_slow", seconds=str(READ_DEADLINE)) from None

    def _read_all(self, wanted: list[tuple[str, int]]) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for path, limit in wanted:
            if self._abandoned.is_set():
                break  # nobody waits for these any more
            files[path] = self._read(path, limit)
        return files

    def _read(self, relative: str, limit: int) -> bytes:
        """One file of the folder, refusing one that leads outside it or is no regular file.
        Executor only."""
        path = (self.folder / relative).resolve()
        if not path.is_relative_to(self.folder):
            raise SourceError("restore_file_outside", path=relative, folder=str(self.folder))
        try:
            # Checked before it is opened: opening a pipe waits for a writer that may never
            # come, and opening a device can act on it. Not blocking either when one was put
            # there since, and checked again once open.
            _require_regular(path, os.stat(path).st_mode)
            fd = os.open(path, _OPEN_FLAGS)
            with os.fdopen(fd, "rb") as handle:
                _require_regular(path, os.fstat(handle.fileno()).st_mode)
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise SourceError("restore_file_missing", path=str(path)) from None
        except OSError as err:
            raise SourceError(
                "restore_file_unreadable", path=str(path), error=err.strerror or str(err)
            ) from None
        if len(data) > limit:
            raise _too_large(str(path), limit)
        return data


def _require_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise SourceError("restore_not_a_file", path=str(path))


def resolve_folder(hass: HomeAssistant, raw: str) -> Path:
    """The folder to restore from: relative to HA's config folder, or an allow-listed path.

    Raises `SourceError` for a folder HA may not read, one that is not there, or a name the
    file system cannot hold. Executor only.
    """
    path = Path(raw)
    if not path.is_absolute():
        path = Path(hass.config.path(raw))
    try:
        resolved = path.resolve()
    except ValueError:  # a NUL character: no folder is named so
        raise SourceError("restore_folder_missing", path=raw) from None
    if resolved.name == MANIFEST:
        resolved = resolved.parent
    if _too_long(resolved):
        # Told here, by the name alone: Python and Home Assistant versions differ in whether
        # their checks below raise for such a name or quietly answer no.
        error = OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
        raise SourceError("restore_folder_unreadable", path=raw, error=_folder_error(error))
    config = Path(hass.config.config_dir).resolve()
    try:
        allowed = resolved.is_relative_to(config) or hass.config.is_allowed_path(str(resolved))
        if not allowed:
            raise SourceError("restore_path_not_allowed", path=raw)
        folder = stat.S_ISDIR(os.stat(resolved).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        folder = False
    except OSError as err:
        raise SourceError("restore_folder_unreadable", path=raw, error=_folder_error(err)) from None
    if not folder:
        raise SourceError("restore_folder_missing", path=raw)
    return resolved


def _too_long(path: Path) -> bool:
    """Whether a name in `path`, or the whole, is longer than most file systems allow."""
    return len(os.fsencode(path)) > 4096 or any(len(os.fsencode(p)) > 255 for p in path.parts)


def _folder_error(err: OSError) -> str:
    if err.errno == errno.ENAMETOOLONG:
        # The OS's own words ("File name too long") do not say which limit was passed.
        return (
            "it, or a name in it, is longer than the file system allows (on most systems 255 "
            "bytes for one folder or file name, 4096 for the whole path)"
        )
    return err.strerror or type(err).__name__
