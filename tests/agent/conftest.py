"""Shared fixtures for the agent tests: a loopback source (HA or Pages), real agent processes.

The agent always runs as a separate process, started with the interpreters under test (the
oldest Python >= 3.9 on the machine and the newest), against a source server these fixtures
start on 127.0.0.1. Tests wait on observable conditions with a deadline, never on fixed sleeps.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HA_PREFIX = "/api/powerstats/data/"
TOKEN = "test-long-lived-token-0123456789abcdef"
PASSWORD = "correct horse battery staple"
LEVEL_BUCKETS = {
    "daily": ("10min", 600),
    "weekly": ("hour", 3600),
    "monthly": ("day", 86400),
    "yearly": ("day", 86400),
}


# -- the data ---------------------------------------------------------------------------------


def level_file(meter: str, level: str, rows: int = 12, seed: float = 1.0) -> bytes:
    """A valid powerstats/1 level file with `rows` buckets."""
    bucket, step = LEVEL_BUCKETS[level]
    start = 1764198000
    doc = {
        "format": "powerstats/1",
        "level": level,
        "meter": {"id": meter, "name": meter.title(), "entity_id": f"sensor.{meter}_power"},
        "timezone": "Europe/Amsterdam",
        "bucket": bucket,
        "generated": "2026-11-27T00:05:01+01:00",
        "columns": ["start", "kwh", "mean_w", "min_w", "max_w", "coverage"],
        # The manifest's meter is priced in EUR, and a level file must say the same.
        "currency": "EUR",
        "rows": [
            [start + i * step, round(seed * 0.1 + i * 0.01, 4), 400.0 + i, 95.0, 3120.0, 1.0]
            for i in range(rows)
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass
class Dataset:
    """The files a source publishes: relative path -> bytes, plus the manifest built from them."""

    files: dict[str, bytes] = field(default_factory=dict)
    maintenance: bool = False
    manifest_override: bytes | None = None
    declared: dict[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def sample(cls, meters: tuple[str, ...] = ("house",)) -> Dataset:
        data = cls()
        for meter in meters:
            for level in LEVEL_BUCKETS:
                data.files[f"{meter}/{level}.json"] = level_file(meter, level)
        return data

    def manifest(self) -> bytes:
        if self.manifest_override is not None:
            return self.manifest_override
        meters: dict[str, dict[str, Any]] = {}
        for path, body in sorted(self.files.items()):
            meter, level = path.split("/")[0], path.split("/")[1][:-5]
            sha, size = self.declared.get(path, (hashlib.sha256(body).hexdigest(), len(body)))
            entry = meters.setdefault(
                meter,
                {
                    "id": meter,
                    "name": meter.title(),
                    "entity_id": f"sensor.{meter}_power",
                    "timezone": "Europe/Amsterdam",
                    "currency": "EUR",
                    "files": {},
                },
            )
            entry["files"][level] = {
                "path": path,
                "sha256": sha,
                "bytes": size,
                "updated": "2026-11-27T00:00:00+01:00",
            }
        doc = {
            "format": "powerstats/1",
            "generated": "2026-11-27T00:05:03+01:00",
            "maintenance": self.maintenance,
            "meters": list(meters.values()),
        }
        return json.dumps(doc, indent=1).encode()


# -- the source server ------------------------------------------------------------------------


@dataclass
class Hit:
    """One request the source received."""

    method: str
    path: str
    headers: dict[str, str]
    status: int
    at: float
    body: bytes = b""


class Source:
    """A loopback source: HA's data view (with token) or a static Pages site (no token).

    `faults` maps a relative path to a misbehaviour: "500", "truncate", "timeout" (answer
    after the agent's deadline), "garbage" (bytes that do not match the manifest).
    `down` answers 503 to everything. `next_manifest_etag` is the ETag the next manifest answer
    carries instead of the real one (once).

    POST /api/services/<domain>/<action> is HA's REST API as HA's api component answers it
    (homeassistant/components/api, APIDomainServicesView): 401 without the token, 400 for an
    unknown action, for `?return_response` on an action without responses and for bad data;
    with `?return_response`, {"changed_states": [...], "service_response": ...}; otherwise
    the list of changed states. The integration's actions are `powerstats.publish` (no
    response) and `powerstats.set_maintenance` ({"enabled": bool}; responds
    {"maintenance": bool}, the state after the call). `maintenance_fault` makes the latter
    misbehave: "stale" (reports, and keeps, the old state), "unregistered" (an integration
    without the action) or "no_responses" (an HA from before action responses, which ignores
    `?return_response` and answers 200 with the changed states only). `action_failure`, a
    status and a body, is HA's answer when the action itself raises: on HA 2026.11
    (400, {"message": ...}) for a ServiceValidationError and (500, {"message": ...}) for any
    other HomeAssistantError; on HA 2025.4 (500, b"").
    """

    def __init__(self, ha: bool = True, tls: ssl.SSLContext | None = None) -> None:
        self.ha = ha
        self.prefix = HA_PREFIX if ha else "/powerstats/"
        self.data = Dataset.sample()
        self.faults: dict[str, str] = {}
        self.down = False
        self.next_manifest_etag: str | None = None
        self.hits: list[Hit] = []
        self.services: list[tuple[str, dict[str, Any]]] = []
        self.maintenance_fault: str | None = None
        self.action_failure: tuple[int, bytes] | None = None
        self.lock = threading.Lock()
        self.release = threading.Event()
        source = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _record(self, status: int, body: bytes = b"") -> None:
                with source.lock:
                    source.hits.append(
                        Hit(
                            self.command,
                            self.path,
                            dict(self.headers.items()),
                            status,
                            time.monotonic(),
                            body,
                        )
                    )

            def _send(
                self,
                status: int,
                body: bytes = b"",
                headers: dict[str, str] | None = None,
                length: int | None = None,
            ) -> None:
                self._record(status)
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_POST(self) -> None:  # the fake HA REST API for the admin actions
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, b"401: Unauthorized")
                    return
                path, _, query = self.path.partition("?")
                match = re.fullmatch(r"/api/services/([a-z_]+)/([a-z_]+)", path)
                if not match:
                    self._send(404)
                    return
                text = {"Content-Type": "text/plain; charset=utf-8"}
                action = f"{match[1]}.{match[2]}"
                responds = {"powerstats.publish": False, "powerstats.set_maintenance": True}
                if source.maintenance_fault == "unregistered":
                    del responds["powerstats.set_maintenance"]
                if action not in responds:  # ServiceNotFound -> HTTPBadRequest
                    self._send(400, b"400: Bad Request", text)
                    return
                wants_response = "return_response" in query.split("&")
                if source.maintenance_fault == "no_responses":
                    wants_response = False
                if wants_response and not responds[action]:
                    message = {
                        "message": "Service does not support responses. "
                        "Remove return_response from request."
                    }
                    body = json.dumps(message).encode()
                    self._send(400, body, {"Content-Type": "application/json"})
                    return
                try:
                    data = json.loads(body) if body else {}
                except ValueError:
                    self._send(400, b'{"message":"Data should be valid JSON."}')
                    return
                if action == "powerstats.set_maintenance" and (
                    set(data) != {"enabled"} or not isinstance(data["enabled"], bool)
                ):  # vol.Invalid -> HTTPBadRequest
                    self._send(400, b"400: Bad Request", text)
                    return
                with source.lock:
                    source.services.append((action, data))
                if source.action_failure is not None:
                    status, failure = source.action_failure
                    self._send(status, failure, {"Content-Type": "application/json"})
                    return
                changed: list[dict[str, Any]] = []
                response: Any = None
                if action == "powerstats.set_maintenance":
                    if source.maintenance_fault != "stale" and (
                        source.data.maintenance != data["enabled"]
                    ):
                        source.data.maintenance = data["enabled"]
                        changed.append(
                            {
                                "entity_id": "switch.house_maintenance",
                                "state": "on" if data["enabled"] else "off",
                                "attributes": {},
                            }
                        )
                    response = {"maintenance": source.data.maintenance}
                answer: Any = (
                    {"changed_states": changed, "service_response": response}
                    if wants_response
                    else changed
                )
                self._send(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

            def do_GET(self) -> None:
                if source.down:
                    self._send(503, b"down")
                    return
                if source.ha and self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, b"401: Unauthorized")
                    return
                if not self.path.startswith(source.prefix):
                    self._send(404)
                    return
                relative = self.path[len(source.prefix) :]
                fault = source.faults.get(relative)
                if relative == "manifest.json":
                    body = source.data.manifest()
                else:
                    body = source.data.files.get(relative)  # type: ignore[assignment]
                    if body is None:
                        self._send(404)
                        return
                if fault == "500":
                    self._send(500, b"500 Internal Server Error")
                    return
                if fault == "timeout":
                    self._record(0)
                    source.release.wait(10)
                    return
                if fault == "garbage":
                    body = bytes(reversed(body))
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if relative == "manifest.json" and source.next_manifest_etag is not None:
                    etag, source.next_manifest_etag = source.next_manifest_etag, None
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, headers={"ETag": etag})
                    return
                headers = {"ETag": etag, "Content-Type": "application/json"}
                if fault == "truncate":
                    self._send(200, body[: len(body) // 2], headers, length=len(body))
                    self.close_connection = True
                    return
                self._send(200, body, headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}{self.prefix}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def gets(self, relative: str | None = None) -> list[Hit]:
        with self.lock:
            return [
                h
                for h in self.hits
                if h.method == "GET" and (relative is None or h.path == self.prefix + relative)
            ]

    def clear(self) -> None:
        with self.lock:
            self.hits.clear()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def source() -> Iterator[Source]:
    """Home Assistant's data view on loopback, with a token."""
    server = Source(ha=True)
    yield server
    server.close()


@pytest.fixture
def static_source() -> Iterator[Source]:
    """A GitHub Pages-like static site on loopback, no token."""
    server = Source(ha=False)
    yield server
    server.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost and its key (PEM)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def https_source(tls_files: tuple[Path, Path]) -> Iterator[Source]:
    """HA's data view over HTTPS with a self-signed certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    server = Source(ha=True, tls=context)
    yield server
    server.close()


# -- the disk ---------------------------------------------------------------------------------


@pytest.fixture
def disk_log(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """What this process makes durable, in order: ("rename", new path) for each os.replace and
    ("sync", folder) for each fsync of a folder (a rename is durable once its folder is)."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            events.append(("sync", os.readlink(f"/proc/self/fd/{fd}")))

    def replace(source: Any, target: Any, **dir_fds: Any) -> None:
        real_replace(source, target, **dir_fds)
        events.append(("rename", os.path.realpath(target)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


# -- interpreters -----------------------------------------------------------------------------


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
        major, minor = out.split()
        return int(major), int(minor)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _candidates() -> list[str]:
    found = [sys.executable]
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            versions = subprocess.run(
                [pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=20
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            versions = []
        for version in versions:
            if not re.fullmatch(r"3\.\d+(\.\d+)?", version):
                continue
            prefix = subprocess.run(
                [pyenv, "prefix", version], capture_output=True, text=True, timeout=20
            ).stdout.strip()
            if prefix:
                found.append(os.path.join(prefix, "bin", "python3"))
    for directory in ("/usr/bin", "/usr/local/bin"):
        if os.path.isdir(directory):
            found += [
                os.path.join(directory, n)
                for n in os.listdir(directory)
                if re.fullmatch(r"python3\.\d+", n)
            ]
    return [p for p in dict.fromkeys(found) if os.access(p, os.X_OK)]


_INTERPRETERS: dict[str, tuple[str, tuple[int, int]] | None] = {}


def interpreters() -> dict[str, tuple[str, tuple[int, int]] | None]:
    """{"oldest": (path, version), "newest": (path, version)} among Pythons >= 3.9."""
    if not _INTERPRETERS:
        usable = [(p, v) for p in _candidates() if (v := _version(p)) and v >= (3, 9)]
        newest = max(usable, key=lambda pv: pv[1])
        oldest = min(usable, key=lambda pv: pv[1])
        _INTERPRETERS["newest"] = newest
        _INTERPRETERS["oldest"] = oldest if oldest[1] < newest[1] else None
    return _INTERPRETERS


@pytest.fixture(params=["oldest", "newest"], scope="session")
def agent_python(request: pytest.FixtureRequest) -> str:
    """The interpreter the agent process runs under."""
    found = interpreters()[request.param]
    if found is None:
        pytest.skip(
            "no Python >= 3.9 older than the newest one is installed here "
            "(install e.g. pyenv's 3.9.18 to cover the board's oldest Python)"
        )
    return found[0]


@pytest.fixture(scope="session")
def newest_python() -> str:
    """The newest interpreter, for tests that need not run twice."""
    found = interpreters()["newest"]
    assert found is not None
    return found[0]


# -- the agent process ------------------------------------------------------------------------


def write_config(tmp: Path, source: Source, **overrides: Any) -> Path:
    """An agent config for `source` under `tmp`; overrides are {"section.key": value}."""
    values: dict[str, dict[str, str]] = {
        "source": {
            "url": source.url,
            "token": TOKEN if source.ha else "",
            "interval": "3600",
            "timeout": "2",
            "max_backoff": "3600",
        },
        "server": {"host": "127.0.0.1", "port": "0", "threads": "4", "request_timeout": "3"},
        "paths": {
            "webroot": str(tmp / "webroot"),
            "dashboard": str(tmp / "dashboard"),
            "state": str(tmp / "state" / "state.json"),
        },
        "admin": {"password_hash": ""},
        "log": {"level": "debug"},
    }
    for key, value in overrides.items():
        section, option = key.split(".")
        values.setdefault(section, {})[option] = str(value)
    dashboard = tmp / "dashboard"
    if not dashboard.exists():
        (dashboard / "vendor").mkdir(parents=True)
        (dashboard / "index.html").write_text(
            "<!DOCTYPE html><title>PowerStats</title><script type=module src=app.js></script>\n"
        )
        (dashboard / "app.js").write_text("// dashboard\n" + "console.log('chart');\n" * 200)
        (dashboard / "style.css").write_text("body { margin: 0 }\n")
        (dashboard / "vendor" / "chart.umd.js").write_text("/* Chart.js */\n" + "x=1;\n" * 500)
    path = tmp / "agent.conf"
    lines = []
    for section, options in values.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in options.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def agent_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("PYTHONHOME", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_agent(
    python: str,
    config: Path,
    *args: str,
    stdin: str | None = None,
    timeout: float = 60,
    preexec: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one agent command to completion (`env`: variables added to the agent's)."""
    return subprocess.run(
        [python, "-m", "luckfox_agent", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**agent_env(), **(env or {})},
        cwd="/",
        preexec_fn=preexec,
    )


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll an observable condition until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Reply:
    """A complete response from the agent."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def getheader(self, name: str) -> str | None:
        return self.headers.get(name)


class Agent:
    """A running `serve` process with its log."""

    def __init__(
        self,
        python: str,
        config: Path,
        preexec: Callable[[], None] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [python, "-m", "luckfox_agent", "--config", str(config), "serve"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**agent_env(), **(env or {})},
            cwd="/",
            preexec_fn=preexec,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        line = self.wait_for_log(r"serving on https?://[^:]+:(\d+)/")
        self.port = int(re.search(r"serving on https?://[^:]+:(\d+)/", line)[1])  # type: ignore[index]

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for_log(self, pattern: str, timeout: float = 20.0, start: int = 0) -> str:
        regex = re.compile(pattern)

        def found() -> str | None:
            if self.proc.poll() is not None and not self.reader.is_alive():
                raise AssertionError(f"agent exited with {self.proc.returncode}:\n{self.log}")
            return next((ln for ln in self.lines[start:] if regex.search(ln)), None)

        return wait_until(found, timeout, f"log line {pattern!r}")  # type: ignore[no-any-return]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        source_ip: str | None = None,
        timeout: float = 10,
    ) -> Reply:
        conn = http.client.HTTPConnection(
            "127.0.0.1",
            self.port,
            timeout=timeout,
            source_address=(source_ip, 0) if source_ip else None,
        )
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        reply = Reply(response.status, response.headers, response.read())
        conn.close()
        return reply

    def raw(self, data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = sock.recv(65536)
                except (ConnectionResetError, TimeoutError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(5)
        return self.proc.returncode


@pytest.fixture
def start_agent(agent_python: str) -> Iterator[Callable[..., Agent]]:
    """Start `serve` processes under the interpreter being tested; stopped at teardown."""
    started: list[Agent] = []

    def start(config: Path, preexec: Callable[[], None] | None = None) -> Agent:
        agent = Agent(agent_python, config, preexec)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()
