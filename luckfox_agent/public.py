"""The public site: dashboard files and mirrored data, served from an allow-list only.

A URL is answered only if its decoded path is exactly a key of the allow-list: the dashboard
files found at start (or reload) and the manifest plus the files it lists. Nothing is ever
joined from URL text, so `..`, encoded or double-encoded dots, backslashes and absolute paths
simply are not keys. Symbolic links are refused when the list is built and again at open.
"""

from __future__ import annotations

import os
import stat

from .fsutil import percent_decode
from .httpserver import Request, Response, simple

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Callable, Dict, FrozenSet, Optional, Tuple

    from .packing import Packed

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
# Types a page uses (scripts, styles, data, fonts): the policies a browser applies to a document
# and the requests it makes (CSP, framing, referrer, opener, permissions) come from the page that
# uses them. Opened on their own they are shown as text (nosniff), nothing runs. SVG and HTML are
# documents; so is anything not listed.
SUBRESOURCE_TYPES = (
    "text/javascript",
    "text/css",
    "application/json",
    "application/manifest+json",
    "font/woff2",
)
COMPRESSIBLE = (".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt", ".webmanifest")
MAX_DASHBOARD_FILES = 2000

# The admin pages need even less: no script at all, styles from one file.
ADMIN_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def is_subresource(response: Response) -> bool:
    """Whether a response is a script, style, JSON or font (by its Content-Type)."""
    for name, value in response.headers:
        if name == "Content-Type":
            return value.split(";", 1)[0] in SUBRESOURCE_TYPES
    return False


def scan_dashboard(root: str) -> Dict[str, str]:
    """URL path -> file path relative to `root`, for every servable dashboard file."""
    files: Dict[str, str] = {}
    if not os.path.isdir(root):
        return files
    for directory, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and not os.path.islink(os.path.join(directory, d))
        )
        for name in sorted(names):
            full = os.path.join(directory, name)
            ext = os.path.splitext(name)[1].lower()
            if name.startswith(".") or ext not in CONTENT_TYPES or os.path.islink(full):
                continue
            relative = os.path.relpath(full, root).replace(os.sep, "/")
            files["/" + relative] = relative
            if len(files) >= MAX_DASHBOARD_FILES:
                return files
    if "/index.html" in files:
        files["/"] = "index.html"
    return files


def _accepts_gzip(header: str) -> bool:
    for item in header.lower().split(","):
        name, _, params = item.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.replace(" ", "")
            return not (q.startswith("q=0") and q.strip("q=0.") == "")
    return False


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def open_confined(root: str, relative: str) -> Optional[Tuple[int, os.stat_result]]:
    """Open `root/relative` read-only if it is a regular file reached without any symlink."""
    full = os.path.join(root, relative)
    if os.path.realpath(full) != os.path.normpath(full):
        return None
    try:
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return None
    return fd, info


def _dashboard_sibling(
    root: str, relative: str, info: os.stat_result
) -> Optional[Tuple[int, os.stat_result]]:
    """The `.gz` install.sh stored beside a dashboard file, unless it is older than the file."""
    packed = open_confined(root, relative + ".gz")
    if packed is not None and packed[1].st_mtime_ns < info.st_mtime_ns:
        os.close(packed[0])  # older than the file: stale, send the file itself
        return None
    return packed


def _data_sibling(
    root: str, sibling: Optional[Packed], info: os.stat_result
) -> Optional[Tuple[int, os.stat_result]]:
    """The mirror's gzip sibling of a data file, only if made from the very file just opened.

    The identity is checked on the open file: a file swapped in after the mirror recorded its
    sibling (or during this request) never gets the sibling of other bytes.
    """
    if sibling is None:
        return None
    name, inode, mtime_ns, size = sibling
    if (info.st_ino, info.st_mtime_ns, info.st_size) != (inode, mtime_ns, size):
        return None
    return open_confined(root, name)


def serve_file(
    request: Request,
    root: str,
    relative: str,
    cache: str,
    data: bool = False,
    sibling: Optional[Packed] = None,
) -> Response:
    """Answer with one file, streamed: ETag/304, a gzip sibling when the client takes gzip.

    Nothing is compressed here (zlib would stay resident): install.sh stores a .gz beside each
    dashboard file, and the mirror one beside each data file (`sibling`), sent as they are.
    """
    opened = open_confined(root, relative)
    if opened is None:
        return simple(404)
    fd, info = opened
    ext = os.path.splitext(relative)[1].lower()
    headers = [
        ("Content-Type", CONTENT_TYPES.get(ext, "application/octet-stream")),
        ("Cache-Control", cache),
        ("Vary", "Accept-Encoding"),
    ]
    etag = f'"{info.st_size:x}-{info.st_mtime_ns:x}"'
    packed: Optional[Tuple[int, os.stat_result]] = None
    if ext in COMPRESSIBLE and _accepts_gzip(request.headers.get("accept-encoding", "")):
        if data:
            packed = _data_sibling(root, sibling, info)
        else:
            packed = _dashboard_sibling(root, relative, info)
    if packed is not None:
        etag = etag[:-1] + '-gz"'
    headers.append(("ETag", etag))
    if _etag_matches(request.headers.get("if-none-match", ""), etag):
        os.close(fd)
        if packed is not None:
            os.close(packed[0])
        return Response(304, headers)
    if packed is None:
        return Response(200, headers, fd=fd, length=info.st_size)
    os.close(fd)
    headers.append(("Content-Encoding", "gzip"))
    return Response(200, headers, fd=packed[0], length=packed[1].st_size)


class Site:
    """Routes public GET/HEAD requests to allow-listed files."""

    def __init__(
        self,
        dashboard: str,
        webroot: str,
        data_files: Callable[[], FrozenSet[str]],
        packed: Callable[[], Dict[str, Packed]] = dict,
    ) -> None:
        self.dashboard = os.path.realpath(dashboard)
        self.webroot = os.path.realpath(webroot)
        self.data_files = data_files
        self.packed = packed  # data file -> its gzip sibling, as the mirror recorded it
        self.dashboard_files = scan_dashboard(self.dashboard)

    def rescan(self) -> None:
        """Re-read the dashboard folder (after an upgrade, on SIGHUP)."""
        self.dashboard_files = scan_dashboard(self.dashboard)

    def lookup(self, raw_path: str) -> Optional[Tuple[str, str, str]]:
        """(root, relative path, cache policy) for an allow-listed URL path, else None."""
        path = percent_decode(raw_path)
        if path is None or not path.startswith("/"):
            return None
        relative = path[1:]
        if relative in self.data_files():
            return self.webroot, relative, "no-cache"
        dashboard = self.dashboard_files.get(path)
        if dashboard is not None:
            return self.dashboard, dashboard, "no-cache"
        return None

    def handle(self, request: Request) -> Response:
        """Answer a public request."""
        if request.method not in ("GET", "HEAD"):
            return simple(405, headers=[("Allow", "GET, HEAD")])
        found = self.lookup(request.path)
        if found is None:
            return simple(404)
        root, relative, cache = found
        if root == self.webroot and relative in self.data_files():
            return serve_file(request, root, relative, cache, True, self.packed().get(relative))
        return serve_file(request, root, relative, cache)
