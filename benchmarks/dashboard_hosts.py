"""The dashboard's three hosts on loopback, each compressing as the real one does, for the bench.

- HA panel: the integration's frontend/ through aiohttp's FileResponse, the class HA's static
  handler answers with (it sends a precompressed .br or .gz sibling the browser accepts), inside
  a stand-in for HA's page (tests/www/panel_host), and the data behind a bearer token, sent as
  the integration's data view sends it (PANEL_DATA_COMPRESSED).
- Board: the real agent process serving the dashboard as install.sh lays it out (with .gz
  siblings), after mirroring the data from a loopback source.
- Pages-like: www/ and the data compressed with gzip per response, as GitHub Pages does.

Beside them, the floor: pages of benchmarks/floor/ that do no more than any page must.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from benchmarks.bench_agent import installed_dashboard
from tests.www.server import DashboardServer

ROOT = Path(__file__).resolve().parents[1]
# The dashboard as it ships (scripts/package), which is also what is published to GitHub Pages:
# www/ with its own modules built into one minified file per page.
SHIPPED = ROOT / "custom_components" / "powerstats" / "frontend"
TOKEN = "bench-token"  # noqa: S105 (a loopback stand-in, no secret)
# The integration's data view (custom_components/powerstats/http.py) compresses what it sends.
PANEL_DATA_COMPRESSED = True
CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


def _find(root: Path, relative: str) -> Path | None:
    """The file `relative` names under `root`, or None (missing, or outside `root`)."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def _file_route(
    root: Path, compress: bool
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        path = _find(root, request.match_info["path"] or "index.html")
        if path is None:
            raise web.HTTPNotFound
        if compress and path.suffix in CONTENT_TYPES:
            response = web.Response(body=path.read_bytes(), content_type=CONTENT_TYPES[path.suffix])
            if "gzip" in request.headers.get("Accept-Encoding", ""):
                response.enable_compression(web.ContentCoding.gzip)
            return response
        # aiohttp's FileResponse: what HA's static handler answers with, .br/.gz siblings included.
        return web.FileResponse(path)

    return handle


def _data_route(
    data: Path, token: str | None, *, compress: bool = True
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        if token is not None and request.headers.get("Authorization") != f"Bearer {token}":
            raise web.HTTPUnauthorized
        path = _find(data, request.match_info["path"])
        if path is None:
            raise web.HTTPNotFound
        response = web.Response(body=path.read_bytes(), content_type="application/json")
        if compress:
            response.enable_compression()
        return response

    return handle


@contextmanager
def aiohttp_host(app: web.Application) -> Iterator[str]:
    """Serve `app` on a free loopback port from a thread and event loop of its own."""
    started: queue.Queue[tuple[asyncio.AbstractEventLoop, asyncio.Event, int] | BaseException]
    started = queue.Queue()

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None)
        try:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            stop = asyncio.Event()
            started.put((asyncio.get_running_loop(), stop, runner.addresses[0][1]))
            await stop.wait()
        except BaseException as err:
            started.put(err)
            raise
        finally:
            await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    answer = started.get(timeout=30)
    if isinstance(answer, BaseException):
        raise answer
    loop, stop, port = answer
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()


@contextmanager
def panel_host(data: Path) -> Iterator[str]:
    """The HA panel; yields the URL of the page that mounts it."""
    app = web.Application()
    frontend = ROOT / "custom_components" / "powerstats" / "frontend"
    host = ROOT / "tests" / "www" / "panel_host"
    data_view = _data_route(data, TOKEN, compress=PANEL_DATA_COMPRESSED)
    app.router.add_get("/api/powerstats/data/{path:.+}", data_view)
    app.router.add_get("/static/{path:.*}", _file_route(frontend, compress=False))
    app.router.add_get("/host/{path:.*}", _file_route(host, compress=False))
    with aiohttp_host(app) as url:
        yield f"{url}host/index.html?module=/static/ha-panel.js&token={TOKEN}"


@contextmanager
def pages_host(data: Path) -> Iterator[str]:
    """A Pages-like server: the published dashboard and data side by side, gzip per response;
    yields the page URL."""
    app = web.Application()
    data_route, file_route = _data_route(data, None), _file_route(SHIPPED, compress=True)

    async def route(request: web.Request) -> web.StreamResponse:
        relative = request.match_info["path"]
        if relative == "manifest.json" or ("/" in relative and _find(data, relative)):
            return await data_route(request)
        return await file_route(request)

    app.router.add_get("/{path:.*}", route)
    with aiohttp_host(app) as url:
        yield url


@contextmanager
def plain_host(data: Path) -> Iterator[str]:
    """The loopback server the dashboard tests use, serving the shipped dashboard: nothing
    compressed."""
    with DashboardServer(SHIPPED, data) as server:
        yield server.url


@contextmanager
def floor_host(data: Path, page: str) -> Iterator[str]:
    """A page of benchmarks/floor/ on the plain server, with the data and the dashboard's
    Chart.js (vendor/) beside it."""
    mounts = {"": ROOT / "benchmarks" / "floor", "vendor/": ROOT / "www" / "vendor"}
    with DashboardServer(mounts, data) as server:
        yield server.url + page


# The dashboard before Chart.js was trimmed and the files compressed (full UMD build).
BEFORE_REVISION = "fbe73e185eb6287d38b6c27fe5ae085d3a1aefbe"


@contextmanager
def before_host(data: Path) -> Iterator[str]:
    """The dashboard as it was at BEFORE_REVISION, on the plain server: the earlier measure."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BEFORE_REVISION, "www"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        with DashboardServer(Path(tmp) / "www", data) as server:
            yield server.url


@contextmanager
def board_host(data: Path) -> Iterator[str]:
    """The real agent, mirroring `data` from a loopback source; yields its URL once mirrored."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        DashboardServer({}, data, data_prefix="api/powerstats/data/", token=TOKEN) as source,
    ):
        home = Path(tmp)
        www = installed_dashboard(str(home / "staging"))
        conf = home / "agent.conf"
        conf.write_text(
            f"[source]\nurl = {source.url}api/powerstats/data/\ntoken = {TOKEN}\n"
            "interval = 3600\ntimeout = 5\n"
            "[server]\nhost = 127.0.0.1\nport = 0\n"
            f"[paths]\nwebroot = {home}/webroot\ndashboard = {www}\nstate = {home}/state.json\n"
        )
        conf.chmod(0o600)
        process = subprocess.Popen(
            [sys.executable, "-m", "luckfox_agent", "--config", str(conf), "serve"],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            cwd="/",
        )
        try:
            assert process.stderr is not None
            port = 0
            for line in process.stderr:
                match = re.search(r"serving on http://[^:]+:(\d+)/", line)
                if match:
                    port = int(match[1])
                    break
            if not port:
                raise RuntimeError("the agent stopped before serving")
            threading.Thread(target=process.stderr.read, daemon=True).start()
            wanted = {p.relative_to(data) for p in data.rglob("*.json")}
            deadline = time.monotonic() + 60
            # Served once every file of the dataset is mirrored into the web root.
            while {p.relative_to(home / "webroot") for p in (home / "webroot").rglob("*.json")} < (
                wanted
            ):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the agent did not mirror the dataset within a minute")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}/"
        finally:
            process.terminate()
            process.wait(30)
