"""Test server room: a loopback HTTP server for the dashboard and a data root, as the board serves.

It sends the same kind of Content-Security-Policy the agent sends (no inline script), so a page
that needed inline script would fail here too, and it records every request with its size.
"""

from __future__ import annotations

import mimetypes
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass
class Served:
    """Where the server reads from; tests swap `data` between page loads."""

    www: Path
    data: Path
    requests: list[tuple[str, int]] = field(default_factory=list)


def _resolve(root: Path, relative: str) -> Path | None:
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate


class _Handler(BaseHTTPRequestHandler):
    served: Served

    def do_GET(self) -> None:
        relative = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        # Data first (manifest.json and <meter>/<level>.json), then the dashboard's own files.
        target = _resolve(self.served.data, relative) or _resolve(self.served.www, relative)
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            self.served.requests.append((relative, 0))
            return
        body = target.read_bytes()
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
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
        self.served.requests.append((relative, len(body)))

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows failures, not access logs."""


class DashboardServer:
    """`with DashboardServer(www, data) as server:` serves on 127.0.0.1 at `server.url`."""

    def __init__(self, www: Path, data: Path) -> None:
        self.served = Served(www=www, data=data)
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
