"""Benchmark of the Luckfox agent: memory next to a bare interpreter, poll cost, serving speed.

Run with the venv python: it starts a loopback source (HA-style, with a token), a counting
TCP proxy in front of it, and the real agent process under each interpreter (the newest and,
when installed, the oldest Python >= 3.9), then prints a markdown section. Loopback only.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "eyJ" + "x" * 180  # an HA long-lived token is a JWT of about this length
POLLS = 1000
REQUESTS = 1000
OLD_DESIGN_MB = (43, 70)
# The environment the init scripts give the service (luckfox_agent/init/), and the file they
# start it with (not `python3 -m`: see launch.py).
ENV_EXTRA = {"MALLOC_ARENA_MAX": "1", "PYTHONOPTIMIZE": "2"}
LAUNCHER = ROOT / "luckfox_agent" / "init" / "launch.py"
TARGET_RATIO = 1.3
# Recorded by this benchmark on 2026-11-27 (started with `python3 -m`, before the import diet):
# (Python, bare MB, serving MB, ratio, after polls MB, ratio).
BEFORE = (
    ("3.13.0", 9.1, 13.3, 1.46, 13.3, 1.46),
    ("3.9.18", 7.5, 11.6, 1.54, 11.7, 1.56),
)


def level(meter: str, name: str, bucket: str, step: int, rows: int, seed: int) -> bytes:
    doc = {
        "format": "powerstats/1",
        "level": name,
        "meter": {"id": meter, "name": "House", "entity_id": "sensor.house_power"},
        "timezone": "Europe/Amsterdam",
        "bucket": bucket,
        "generated": "2026-11-27T00:05:01+01:00",
        "columns": ["start", "kwh", "mean_w", "min_w", "max_w", "coverage"],
        "rows": [
            [
                1764198000 + i * step,
                round(0.1 + (i * seed % 97) / 1000, 4),
                411.3,
                95.0,
                3120.0,
                1.0,
            ]
            for i in range(rows)
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


class Source:
    """HA's data view on loopback: token checked, ETag/304 like the integration's view."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.polls = 0
        self.set_data(1)
        source = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                relative = self.path.removeprefix("/api/powerstats/data/")
                body = source.files.get(relative)
                if relative == "manifest.json":
                    source.polls += 1
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set_data(self, seed: int) -> None:
        specs = {
            "daily": ("10min", 600, 145),
            "weekly": ("hour", 3600, 168),
            "monthly": ("day", 86400, 30),
            "yearly": ("day", 86400, 365),
        }
        files = {
            f"house/{n}.json": level("house", n, b, s, r, seed) for n, (b, s, r) in specs.items()
        }
        manifest = {
            "format": "powerstats/1",
            "generated": "2026-11-27T00:05:03+01:00",
            "maintenance": False,
            "meters": [
                {
                    "id": "house",
                    "name": "House",
                    "entity_id": "sensor.house_power",
                    "timezone": "Europe/Amsterdam",
                    "files": {
                        n[6:-5]: {
                            "path": n,
                            "sha256": hashlib.sha256(b).hexdigest(),
                            "bytes": len(b),
                            "updated": "2026-11-27T00:00:00+01:00",
                        }
                        for n, b in files.items()
                    },
                }
            ],
        }
        files["manifest.json"] = json.dumps(manifest, indent=1).encode()
        self.files = files


class CountingProxy:
    """Forwards TCP connections to the source and counts the bytes in both directions."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.bytes = 0
        self.open_pipes = 0
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                with self.lock:
                    self.bytes += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for end in (src, dst):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            with self.lock:
                self.open_pipes -= 1

    def _accept(self) -> None:
        while True:
            client, _ = self.sock.accept()
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open_pipes += 2
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()


def interpreters() -> list[tuple[str, str]]:
    """(label, path): the newest (this venv's base interpreter) and the oldest >= 3.9 found.

    The base interpreter, not the venv: a venv full of test tools makes every import scan a
    huge site-packages, which the board does not have.
    """
    found = [("newest", getattr(sys, "_base_executable", sys.executable))]
    pyenv = shutil.which("pyenv")
    candidates = []
    if pyenv:
        out = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True)
        for version in out.stdout.split():
            if re.fullmatch(r"3\.\d+\.\d+", version):
                prefix = subprocess.run(
                    [pyenv, "prefix", version], capture_output=True, text=True
                ).stdout.strip()
                candidates.append((tuple(int(x) for x in version.split(".")), prefix))
    usable = sorted(c for c in candidates if c[0] >= (3, 9) and c[0][:2] < sys.version_info[:2])
    if usable:
        found.append(("oldest", os.path.join(usable[0][1], "bin", "python3")))
    return found


def version_of(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def bare_peak_kb(python: str) -> int:
    """Peak RSS (VmHWM) of a bare interpreter that does nothing but report it.

    rusage cannot be used: a child started by fork/vfork inherits its parent's peak.
    """
    out = subprocess.run(
        [python, "-c", "print(open('/proc/self/status').read())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(re.search(r"VmHWM:\s+(\d+)", out)[1])  # type: ignore[index]


def vm_hwm_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def wait_until(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.001)


def dashboard_paths(www: Path) -> list[str]:
    paths = ["/", "/manifest.json", "/house/daily.json", "/house/yearly.json"]
    for path in sorted(www.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".js", ".css", ".svg"):
            paths.append("/" + path.relative_to(www).as_posix())
    return paths


def requests_per_second(port: int, paths: list[str], gzip: bool, clients: int = 4) -> float:
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    per_client = REQUESTS // clients
    errors: list[str] = []

    def client() -> None:
        for i in range(per_client):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", paths[i % len(paths)], headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"{paths[i % len(paths)]}: {response.status}")
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"dashboard requests failed: {errors[:3]}")
    return per_client * clients / elapsed


def measure(python: str, www: Path) -> dict[str, Any]:
    source = Source()
    proxy = CountingProxy(("127.0.0.1", source.server.server_address[1]))
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "agent.conf"
        conf.write_text(
            f"[source]\nurl = http://127.0.0.1:{proxy.port}/api/powerstats/data/\n"
            f"token = {TOKEN}\ninterval = 3600\ntimeout = 5\n"
            f"[server]\nhost = 127.0.0.1\nport = 0\n"
            f"[paths]\nwebroot = {tmp}/www\ndashboard = {www}\nstate = {tmp}/state.json\n"
            "[log]\nlevel = info\n"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT), **ENV_EXTRA}
        # Compiled once beforehand, as install.sh does on the board: compiling is not serving.
        subprocess.run(
            [python, "-m", "compileall", "-q", str(ROOT / "luckfox_agent")],
            check=True,
            env=env,
            capture_output=True,
        )
        proc = subprocess.Popen(
            [python, str(LAUNCHER), "--config", str(conf), "serve"],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd="/",
        )
        agent_log: list[str] = []
        try:
            assert proc.stderr is not None
            port = 0
            for line in proc.stderr:
                match = re.search(r"serving on http://[^:]+:(\d+)/", line)
                if match:
                    port = int(match[1])
                    break
            threading.Thread(target=lambda: agent_log.extend(proc.stderr), daemon=True).start()  # type: ignore[arg-type]
            wait_until(lambda: (Path(tmp) / "www/manifest.json").exists())
            paths = dashboard_paths(www)
            rps_plain = requests_per_second(port, paths, gzip=False)
            rps_gzip = requests_per_second(port, paths, gzip=True)
            serving_kb = vm_hwm_kb(proc.pid)

            # One unchanged poll, through the counting proxy.
            polls = source.polls
            before = proxy.bytes
            proc.send_signal(signal.SIGUSR1)
            wait_until(lambda: source.polls > polls)
            wait_until(lambda: proxy.open_pipes == 0)  # the agent closed: every byte counted
            unchanged_bytes = proxy.bytes - before

            # 1,000 polls, one in a hundred with new data (a file fetched and swapped in).
            for i in range(POLLS):
                if i % 100 == 99:
                    source.set_data(i)
                polls = source.polls
                proc.send_signal(signal.SIGUSR1)
                try:
                    wait_until(lambda seen=polls: source.polls > seen)
                except TimeoutError:
                    sys.stderr.write("".join(agent_log[-20:]))
                    raise
            after_polls_kb = vm_hwm_kb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    source.server.shutdown()
    return {
        "serving_kb": serving_kb,
        "polls_kb": after_polls_kb,
        "unchanged_bytes": unchanged_bytes,
        "rps_plain": rps_plain,
        "rps_gzip": rps_gzip,
    }


def installed_dashboard(staging: str) -> Path:
    """The dashboard as a board gets it: the agent's tarball built by scripts/package, unpacked,
    and laid out by its install.sh (with the .gz siblings the tarball brings)."""
    work = Path(staging) / "package"  # beside what install.sh lays out under DESTDIR
    package = [sys.executable, str(ROOT / "scripts" / "package"), "--no-sync"]
    out = ["--out", str(work / "build"), "--dist", str(work / "dist")]
    subprocess.run([*package, *out], check=True, capture_output=True)
    (tarball,) = (work / "dist").glob("powerstats-agent-*.tar.gz")
    subprocess.run(["tar", "-x", "-z", "-C", str(work), "-f", str(tarball)], check=True)
    installer = work / tarball.name.removesuffix(".tar.gz") / "luckfox_agent" / "install.sh"
    env = {**os.environ, "DESTDIR": staging, "INIT": "none"}
    subprocess.run(["sh", str(installer)], env=env, check=True, capture_output=True)
    www = Path(staging) / "usr/share/powerstats-agent/www"
    if not (www / "index.html").exists():  # no www/ in this checkout: a stand-in page
        www.mkdir(parents=True, exist_ok=True)
        (www / "index.html").write_text("<!DOCTYPE html><title>PowerStats</title>\n")
    return www


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as staging:
        www = installed_dashboard(staging)
        for label, python in interpreters():
            bare = bare_peak_kb(python)
            result = measure(python, www)
            rows.append((label, version_of(python), bare, result))
    print("## Luckfox agent\n")
    print(
        f"Real agent process on loopback; {POLLS:,} polls driven by SIGUSR1 (1 in 100 with new "
        f"data); {REQUESTS:,} dashboard requests per mode from 4 clients, dashboard installed by "
        f"install.sh. Peak RSS is VmHWM, for the bare interpreter read from /proc as its only "
        f"statement. The unchanged poll is counted on the wire, both directions, with an "
        f"HA-sized token. Target: agent within "
        f"{TARGET_RATIO}x of bare; old design {OLD_DESIGN_MB[0]} MB idle / {OLD_DESIGN_MB[1]} MB "
        "peak.\n"
    )
    print(
        "| Python | bare `python3 -c pass` | agent serving | ratio | after 1,000 polls | ratio "
        "| vs old design (70 MB) | unchanged poll | requests/s (plain) | requests/s (gzip) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, version, bare, r in rows:
        print(
            f"| {version} ({label}) | {bare / 1024:.1f} MB | {r['serving_kb'] / 1024:.1f} MB | "
            f"{r['serving_kb'] / bare:.2f}x | {r['polls_kb'] / 1024:.1f} MB | "
            f"{r['polls_kb'] / bare:.2f}x | {r['polls_kb'] / 1024 / OLD_DESIGN_MB[1]:.2f}x | "
            f"{r['unchanged_bytes']} B | {r['rps_plain']:.0f} | {r['rps_gzip']:.0f} |"
        )
    worst = max(max(r["serving_kb"], r["polls_kb"]) / bare for _, _, bare, r in rows)
    verdict = "met" if worst <= TARGET_RATIO else "NOT met"
    print(
        f"\nTarget (at most {TARGET_RATIO}x the bare interpreter): **{verdict}** "
        f"(worst {worst:.2f}x)."
    )
    print("\nBefore (2026-11-27, same benchmark, agent started with `python3 -m`):\n")
    print("| Python | bare | agent serving | ratio | after 1,000 polls | ratio |")
    print("|---|---|---|---|---|---|")
    for version, bare_mb, serving, ratio, polls, polls_ratio in BEFORE:
        print(
            f"| {version} | {bare_mb} MB | {serving} MB | {ratio:.2f}x | {polls} MB "
            f"| {polls_ratio:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
