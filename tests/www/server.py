"""Test server room: a loopback HTTP server for the dashboard and a data root, as the board serves.

It sends the same kind of Content-Security-Policy the agent sends (no inline script), so a page
that needed inline script would fail here too, and it records every request with the size of the
body it answered with. Like HA's data view, the agent and GitHub Pages, it gives every file an
ETag and a Last-Modified and answers a matching If-None-Match or If-Modified-Since with a 304
without a body; data files say `no-cache` (keep, but ask again), as the agent does (HA's view
adds `private`).
"""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import threading
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass
class Served:
    """Where the server reads from: data under `data_prefix` (behind `token` when set), then the
    dashboard's files under their URL prefixes."""

    www: dict[str, Path]
    data: Path
    data_prefix: str = ""
    token: str | None = None
    etags: bool = True
    requests: list[tuple[str, int]] = field(default_factory=list)


def _unchanged(headers: Message, etag: str | None, mtime: float) -> bool:
    """Whether a conditional request names the version the server has (RFC 9110, 13.1)."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None and etag is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError):
        return False
    return int(mtime) <= since


def _resolve(root: Path, relative: str) -> Path | None:
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate


class _Handler(BaseHTTPRequestHandler):
    served: Served

    def do_GET(self) -> None:
        served = self.served
        relative = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        target = None
        is_data = False
        # Data first (manifest.json and <meter>/<level>.json), then the dashboard's own files.
        if relative.startswith(served.data_prefix):
            if served.token and self.headers.get("Authorization") != f"Bearer {served.token}":
                self.send_error(HTTPStatus.UNAUTHORIZED)
                served.requests.append((relative, 0))
                return
            target = _resolve(served.data, relative.removeprefix(served.data_prefix))
            is_data = target is not None
        for prefix, root in served.www.items():
            if target is None and relative.startswith(prefix):
                target = _resolve(root, relative.removeprefix(prefix) or "index.html")
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            self.served.requests.append((relative, 0))
            return
        body = target.read_bytes()
        mtime = target.stat().st_mtime
        etag = f'"{hashlib.sha256(body).hexdigest()}"' if served.etags else None
        if _unchanged(self.headers, etag, mtime):
            served.requests.append((relative, 0))
            self.send_response(HTTPStatus.NOT_MODIFIED)
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix == ".js":
            kind = "text/javascript"
        self.send_response(HTTPStatus.OK)
        if kind.startswith("text"):
            kind += "; charset=utf-8"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-cache" if is_data else "no-store")
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(mtime, usegmt=True))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the page was closed mid-answer (a test or benchmark moved on)
        self.served.requests.append((relative, len(body)))

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows failures, not access logs."""


class DashboardServer:
    """`with DashboardServer(www, data) as server:` serves on 127.0.0.1 at `server.url`.

    `www` is one folder served at the root, or URL prefixes ("static/") mapped to folders.
    Without `etags`, files carry only a Last-Modified (a host that gives no ETag).
    """

    def __init__(
        self,
        www: Path | dict[str, Path],
        data: Path,
        *,
        data_prefix: str = "",
        token: str | None = None,
        etags: bool = True,
    ) -> None:
        mounts = www if isinstance(www, dict) else {"": www}
        self.served = Served(
            www=mounts, data=data, data_prefix=data_prefix, token=token, etags=etags
        )
        handler = type("Handler", (_Handler,), {"served": self.served})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def __enter__(self) -> DashboardServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
