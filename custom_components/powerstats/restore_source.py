"""Where a restore reads from: a published folder over HTTP(S), or a folder on this machine.

The shell half of `powerstats.restore` (core/restore_plan.py checks what is read). Over HTTP the
folder is GitHub Pages, a raw repository URL or the board's mirror, fetched with Home
Assistant's shared client session, with time limits and never more bytes than the manifest
promises; a local folder is read in the executor. Only the manifest and the level files it
lists (`<meter>/<level>.json`, checked by the plan) are ever asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .core.restore_plan import MAX_FILE_BYTES, MAX_MANIFEST_BYTES, PublishedFile

MANIFEST: Final = "manifest.json"
# A published folder is a few hundred kilobytes: a slow board or Pages still answers in time.
CONNECT_TIMEOUT: Final = 10
READ_TIMEOUT: Final = 60


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
    """Whether the source names an HTTP(S) location rather than a folder."""
    return urlsplit(source).scheme.lower() in ("http", "https")


def folder_url(source: str) -> str:
    """The folder's URL ending in '/', whether the user gave the folder or its manifest."""
    parts = urlsplit(source)
    path = parts.path.removesuffix(MANIFEST)
    if not path.endswith("/"):
        path += "/"
    return parts._replace(path=path, query="", fragment="").geturl()


def shown(source: str) -> str:
    """The source as it may be shown and logged: an address without user, password or query."""
    if not is_url(source):
        return source
    parts = urlsplit(source)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def _url_error(url: str, reason: str) -> SourceError:
    return SourceError("restore_fetch_failed", url=shown(url), error=reason)


class UrlSource:
    """A published folder served over HTTP(S)."""

    def __init__(self, hass: HomeAssistant, source: str) -> None:
        self._session = async_get_clientsession(hass)
        self.base = folder_url(source)

    async def read_manifest(self) -> bytes:
        """The folder's manifest.json."""
        return await self._get(MANIFEST, MAX_MANIFEST_BYTES)

    async def read_files(self, files: Iterable[PublishedFile]) -> dict[str, bytes]:
        """Each listed file, at most the size the manifest gives it (the plan checks more)."""
        return {f.path: await self._get(f.path, min(f.size, MAX_FILE_BYTES)) for f in files}

    async def _get(self, path: str, limit: int) -> bytes:
        url = self.base + path
        timeout = aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, total=READ_TIMEOUT)
        try:
            async with self._session.get(url, timeout=timeout, allow_redirects=True) as response:
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
            raise _url_error(url, str(err) or type(err).__name__) from None


def _too_large(where: str, limit: int) -> SourceError:
    # One byte past what the manifest promised is as wrong as a megabyte: the sizes must match.
    return SourceError("restore_file_too_large", path=where, limit=str(limit))


class FolderSource:
    """A published folder on this machine (a copy of the repository, or of the board's web root)."""

    def __init__(self, hass: HomeAssistant, folder: Path) -> None:
        self._hass = hass
        self.folder = folder

    async def read_manifest(self) -> bytes:
        """The folder's manifest.json."""
        return await self._hass.async_add_executor_job(self._read, MANIFEST, MAX_MANIFEST_BYTES)

    async def read_files(self, files: Iterable[PublishedFile]) -> dict[str, bytes]:
        """Each listed file, at most the size the manifest gives it."""
        wanted = [(f.path, min(f.size, MAX_FILE_BYTES)) for f in files]
        return await self._hass.async_add_executor_job(self._read_all, wanted)

    def _read_all(self, wanted: list[tuple[str, int]]) -> dict[str, bytes]:
        return {path: self._read(path, limit) for path, limit in wanted}

    def _read(self, relative: str, limit: int) -> bytes:
        """One file of the folder, refusing one that leads outside it. Executor only."""
        path = (self.folder / relative).resolve()
        if not path.is_relative_to(self.folder):
            raise SourceError("restore_file_outside", path=relative, folder=str(self.folder))
        try:
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
        except FileNotFoundError:
            raise SourceError("restore_file_missing", path=str(path)) from None
        except OSError as err:
            raise SourceError(
                "file_error", path=str(path), error=err.strerror or str(err)
            ) from None
        if len(data) > limit:
            raise _too_large(str(path), limit)
        return data


def resolve_folder(hass: HomeAssistant, raw: str) -> Path:
    """The folder to restore from: relative to HA's config folder, or an allow-listed path.

    Raises `SourceError` for a folder HA may not read or one that is not there. Executor only.
    """
    path = Path(raw)
    if not path.is_absolute():
        path = Path(hass.config.path(raw))
    resolved = path.resolve()
    if resolved.name == MANIFEST:
        resolved = resolved.parent
    config = Path(hass.config.config_dir).resolve()
    if not (resolved.is_relative_to(config) or hass.config.is_allowed_path(str(resolved))):
        raise SourceError("restore_path_not_allowed", path=raw)
    if not resolved.is_dir():
        raise SourceError("restore_folder_missing", path=raw)
    return resolved
