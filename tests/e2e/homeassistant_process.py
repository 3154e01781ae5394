"""A real Home Assistant process on loopback, for the end-to-end tests and the live demo.

Writes a minimal configuration, starts `hass` (the pinned minimum from .venv, or the newest
from .venv-ha or the Debian chroot; optionally under libfaketime, with a clock a test moves once
HA answers, so a boundary is placed after start-up however long that took), finishes
onboarding through HA's own API and hands out tokens. Run as
`python -m tests.e2e.homeassistant_process onboard --url URL` to onboard a server started
elsewhere (scripts/develop does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "demo", "powerstats-demo"
CLIENT_ID = "http://127.0.0.1/"
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
# The newest Home Assistant's server venv (requirements-ha-server.txt), not the harness's: on
# the host where its Python is new enough, otherwise in the newest-HA chroot (scripts/setup).
HOST_NEWEST_HASS = ROOT / ".venv-ha" / "bin" / "hass"
CHROOT_HASS = "/opt/venv-ha/bin/hass"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(
    url: str,
    data: Any = None,
    *,
    form: bool = False,
    token: str | None = None,
    method: str | None = None,
    timeout: float = 30,
) -> Any:
    """One request to a loopback server; returns the parsed JSON answer (or None)."""
    body, headers = None, {}
    if data is not None and form:
        body = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


def served_files(url: str, token: str) -> dict[str, bytes] | None:
    """manifest.json and every file it lists, as HA's data view serves them now.

    A boundary may pass between two requests: a set whose files do not match the manifest's
    hashes (or that is not there yet) is None, so a caller polls until one agrees.
    """
    base = f"{url}/api/powerstats/data/"

    def get(path: str) -> bytes:
        request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return bytes(answer.read())

    try:
        files = {"manifest.json": get("manifest.json")}
        for meter in json.loads(files["manifest.json"])["meters"]:
            for entry in meter["files"].values():
                files[entry["path"]] = get(entry["path"])
                if hashlib.sha256(files[entry["path"]]).hexdigest() != entry["sha256"]:
                    return None
    except (OSError, ValueError, KeyError):
        return None
    return files


def configuration_yaml(port: int, extra: str = "", *, http_in_yaml: bool = True) -> str:
    """A minimal configuration: the frontend (for the panel), the API, PowerStats' needs."""
    http = f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n" if http_in_yaml else ""
    return f"""\
homeassistant:
  name: PowerStats
  unit_system: metric
  currency: EUR
  time_zone: Europe/Amsterdam
  country: NL
  latitude: 52.37
  longitude: 4.89
  elevation: 0
{http}frontend:
logger:
  default: warning
  logs:
    custom_components.powerstats: debug
{extra}"""


def seed_config(
    config: Path, port: int, extra: str = "", links: Iterable[Path] = (), *, newest: bool = False
) -> None:
    """Write configuration.yaml, link custom integrations in, and pre-answer onboarding.

    The `core_config` and `analytics` onboarding steps are marked done before the first start:
    finishing `core_config` through the API would set up weather, TTS and radio integrations
    that try to reach the internet.

    The newest Home Assistant keeps its HTTP settings in its storage, not in YAML: it would
    take an `http:` section as a new setting on trial, ask in a dialog over every page to
    confirm it, and five minutes later restart on the default port 8123 on every interface.
    So for it the settings are written where it keeps confirmed ones (`newest`).
    """
    (config / "custom_components").mkdir(parents=True, exist_ok=True)
    for target in (ROOT / "custom_components" / "powerstats", *links):
        link = config / "custom_components" / target.name
        if not link.is_symlink():
            # Relative, so the same folder also works where the repository is mounted
            # elsewhere (the newest Home Assistant runs in a chroot).
            link.symlink_to(os.path.relpath(target, link.parent))
    (config / "configuration.yaml").write_text(
        configuration_yaml(port, extra, http_in_yaml=not newest)
    )
    storage = config / ".storage"
    storage.mkdir(exist_ok=True)
    if newest:
        (storage / "http").write_text(json.dumps(_confirmed_http_settings(port), indent=2))
    onboarding = storage / "onboarding"
    if not onboarding.exists():
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config", "analytics"]},
                }
            )
        )


def _confirmed_http_settings(port: int) -> dict[str, Any]:
    """The newest HA's `.storage/http`: loopback on `port`, confirmed, nothing on trial."""
    return {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {
            "stable": {
                "server_host": ["127.0.0.1"],
                "server_port": port,
                "cors_allowed_origins": ["https://cast.home-assistant.io"],
                "login_attempts_threshold": -1,
                "ip_ban_enabled": True,
                "ssl_profile": "modern",
                "use_x_frame_options": True,
                "created_at": datetime.now(UTC).isoformat(),
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    }


def wait_until_up(url: str, alive: Any, deadline: float) -> None:
    """Poll HA's front page until it answers; `alive()` says whether its process still runs."""
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("Home Assistant exited during start-up; see its log")
        try:
            with urllib.request.urlopen(url + "/manifest.json", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)  # waiting for another process to come up, not for time to pass
    raise RuntimeError(f"Home Assistant did not answer on {url} in time")


def wait_until_running(url: str, token: str, deadline: float) -> None:
    """Poll HA's core state until it has finished starting.

    HA answers HTTP long before every integration is set up; an action that waits on the
    recorder while HA still starts would hold up the start itself (which waits for running
    tasks), so the demo and the tests wait for this before they act.
    """
    while time.monotonic() < deadline:
        if http(url + "/api/config", token=token).get("state") == "RUNNING":
            return
        time.sleep(0.5)  # polling another process, not waiting for time to pass
    raise RuntimeError(f"Home Assistant on {url} did not finish starting in time")


@dataclass
class Tokens:
    """What logging in gives a client: an access token and a refresh token."""

    access_token: str
    refresh_token: str
    expires_in: int


def onboard(url: str) -> Tokens:
    """Create the demo user and finish onboarding; return the user's tokens."""
    try:
        steps = {step["step"]: step["done"] for step in http(url + "/api/onboarding")}
    except urllib.error.HTTPError as err:
        if err.code != 404:  # HA drops the onboarding API once onboarding is complete
            raise
        return login(url)
    if steps.get("user"):
        return login(url)
    answer = http(
        url + "/api/onboarding/users",
        {
            "client_id": CLIENT_ID,
            "name": "Demo",
            "username": USER,
            "password": PASSWORD,
            "language": "en",
        },
    )
    tokens = _token_from_code(url, answer["auth_code"])
    for step, body in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": CLIENT_ID, "redirect_uri": CLIENT_ID}),
    ):
        if not steps.get(step):
            http(f"{url}/api/onboarding/{step}", body, token=tokens.access_token)
    return tokens


def login(url: str) -> Tokens:
    """Log in as the demo user through HA's login flow."""
    flow = http(
        url + "/auth/login_flow",
        {"client_id": CLIENT_ID, "handler": ["homeassistant", None], "redirect_uri": CLIENT_ID},
    )
    result = http(
        f"{url}/auth/login_flow/{flow['flow_id']}",
        {"client_id": CLIENT_ID, "username": USER, "password": PASSWORD},
    )
    return _token_from_code(url, result["result"])


def _token_from_code(url: str, code: str) -> Tokens:
    answer = http(
        url + "/auth/token",
        {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
        form=True,
    )
    return Tokens(answer["access_token"], answer["refresh_token"], answer["expires_in"])


async def _long_lived_token(url: str, access_token: str, name: str) -> str:
    import aiohttp  # only the websocket needs it; the rest is stdlib

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url.replace("http", "ws", 1) + "/api/websocket") as ws,
    ):
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": access_token})
        if (await ws.receive_json())["type"] != "auth_ok":
            raise RuntimeError("websocket authentication failed")
        await ws.send_json(
            {
                "id": 1,
                "type": "auth/long_lived_access_token",
                "client_name": name,
                "lifespan": 3650,
            }
        )
        answer = await ws.receive_json()
        if not answer.get("success"):
            raise RuntimeError(f"could not create a long-lived token: {answer}")
        return str(answer["result"])


def run_coroutine[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end from synchronous test code.

    In a thread of its own: the caller's thread may already run an event loop (Playwright's
    sync API, started by any browser test earlier in the session), where asyncio.run fails.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def long_lived_token(url: str, access_token: str, name: str) -> str:
    """Create a long-lived access token (as a user does on their profile page)."""
    return run_coroutine(_long_lived_token(url, access_token, name))


def add_meter(
    url: str,
    token: str,
    entity_id: str,
    name: str,
    publishing: dict[str, Any] | None = None,
    attempts: int = 1,
) -> dict[str, Any]:
    """Add a PowerStats meter through HA's REST API, as the integrations page does.

    The first meter sets PowerStats up (the config flow: the meter, then the publishing step,
    which `publishing` answers; None skips it). Every further meter is added with the `meter`
    subentry flow (Add meter), which never asks about GitHub. The publishing step checks
    GitHub; on a busy machine a slow answer may show as an error, so `attempts` > 1 submits it
    again.
    """
    entries = http(f"{url}/api/config/config_entries/entry?domain=powerstats", token=token)
    if entries:
        if publishing is not None:
            raise ValueError("publishing belongs to PowerStats' first flow or its options")
        return _add_further_meter(url, token, entries[0]["entry_id"], entity_id, name)
    flows = f"{url}/api/config/config_entries/flow"
    step = http(flows, {"handler": "powerstats", "show_advanced_options": False}, token=token)
    if step.get("step_id") != "user":
        raise RuntimeError(f"the flow did not start with the meter's form: {step}")
    step = http(f"{flows}/{step['flow_id']}", {"entity_id": entity_id, "name": name}, token=token)
    if step.get("step_id") != "github":
        raise RuntimeError(f"the meter's form was refused: {step}")
    result: dict[str, Any] = {}
    for _ in range(attempts):
        result = http(f"{flows}/{step['flow_id']}", publishing or {}, token=token)
        if result.get("type") == "create_entry":
            return result
    raise RuntimeError(f"adding the meter failed: {result}")


def _add_further_meter(
    url: str, token: str, entry_id: str, entity_id: str, name: str
) -> dict[str, Any]:
    """Add meter: the sensor and name, then price and files (no price, every file)."""
    flows = f"{url}/api/config/config_entries/subentries/flow"
    step = http(flows, {"handler": [entry_id, "meter"]}, token=token)
    if step.get("step_id") != "user":
        raise RuntimeError(f"Add meter did not start with the meter's form: {step}")
    step = http(f"{flows}/{step['flow_id']}", {"entity_id": entity_id, "name": name}, token=token)
    if step.get("step_id") != "settings":
        raise RuntimeError(f"the meter's form was refused: {step}")
    answers = {"price_mode": "none", "levels": ["daily", "weekly", "monthly", "yearly"]}
    result: dict[str, Any] = http(f"{flows}/{step['flow_id']}", answers, token=token)
    if result.get("type") != "create_entry":
        raise RuntimeError(f"adding the meter failed: {result}")
    return result


def movable_clock_env(offset_file: Path) -> dict[str, str]:
    """Environment whose clock is the real one plus the seconds written in `offset_file`.

    libfaketime rereads the file at most once a second, so a test can move the clock of a
    running process forward (see HomeAssistantProcess.move_clock).
    """
    if not LIBFAKETIME.exists():
        raise RuntimeError(f"{LIBFAKETIME} is missing; scripts/setup installs Debian's faketime")
    return {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(offset_file),
        "FAKETIME_CACHE_DURATION": "1",
        "TZ": "UTC",
    }


def write_offset(offset_file: Path, seconds: int) -> None:
    """Write libfaketime's offset atomically: it must never read a half-written file."""
    temporary = offset_file.with_suffix(".tmp")
    temporary.write_text(f"{seconds:+d}\n")
    temporary.replace(offset_file)


def faketime_env(start: datetime, speed: float = 1.0) -> dict[str, str]:
    """Environment that makes a process's clock start at `start` and tick `speed` times as fast."""
    if not LIBFAKETIME.exists():
        raise RuntimeError(f"{LIBFAKETIME} is missing; scripts/setup installs Debian's faketime")
    stamp = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    rate = "" if speed == 1 else f" x{speed:g}"
    return {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": f"@{stamp}{rate}",
        "TZ": "UTC",
        "FAKETIME_DONT_RESET": "1",
    }


@dataclass
class HomeAssistantProcess:
    """One `hass` process with its own configuration folder on a free loopback port."""

    config: Path
    hass: Path = ROOT / ".venv" / "bin" / "hass"
    port: int = field(default_factory=free_port)
    extra_config: str = ""
    links: tuple[Path, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    clock_start: datetime | None = None
    launched: float = 0.0  # time.time() when the process started
    speed: float = 1.0  # how many seconds pass on its faked clock per real second
    clock_offset: int | None = None  # seconds ahead of the real clock (a movable clock)
    chroot: Path | None = None  # run the newest HA from this chroot (config must be in ROOT)

    @property
    def newest(self) -> bool:
        """Whether this is the newest Home Assistant (it keeps its HTTP settings in storage)."""
        return self.chroot is not None or self.hass == HOST_NEWEST_HASS

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def offset_file(self) -> Path:
        return self.config / "faketime.offset"

    def start(self, *, clock: datetime | None = None, timeout: float = 300) -> None:
        """Start hass (its clock starting at `clock` when given) and wait until it answers.

        At the real speed the clock is movable: a test starts HA anywhere in time and places
        the moment it cares about with `move_clock` once HA answers, so however long start-up
        takes on a busy machine, it never eats into the test's window.
        """
        seed_config(self.config, self.port, self.extra_config, self.links, newest=self.newest)
        env = dict(os.environ)
        self.clock_start, self.clock_offset = None, None
        if clock is not None and self.speed == 1:
            self.clock_offset = round(clock.timestamp() - time.time())
            write_offset(self.offset_file, self.clock_offset)
            env.update(movable_clock_env(self.offset_file))
        elif clock is not None:
            env.update(faketime_env(clock, self.speed))
            self.clock_start = clock
        self.launched = time.time()
        self.log_path = self.config / "hass.out"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        wait_until_up(self.url, self.alive, time.monotonic() + timeout)

    def _command(self) -> list[str]:
        if self.chroot is None:
            return [str(self.hass), "--config", str(self.config), "--skip-pip"]
        # Inside the chroot the repository is mounted at $POWERSTATS_REPO (scripts/lib.sh), and
        # chroot_run starts with an empty environment: libfaketime's settings go in here.
        inside = self.config.resolve().relative_to(ROOT)
        clock = ""
        if self.clock_offset is not None:
            clock = (
                f"LD_PRELOAD={LIBFAKETIME} FAKETIME_CACHE_DURATION=1 "
                'FAKETIME_TIMESTAMP_FILE="$POWERSTATS_REPO/$0/faketime.offset" '
            )
        script = (
            'source "$0/scripts/lib.sh" && chroot_run "$1" "$0" /bin/sh -c '
            f'\'exec env {clock}{CHROOT_HASS} --config "$POWERSTATS_REPO/$0" --skip-pip\' "$2"'
        )
        return ["bash", "-c", script, str(ROOT), str(self.chroot), str(inside)]

    def now(self) -> datetime:
        """The process's own clock right now (the real one unless started under faketime)."""
        if self.clock_offset is not None:
            return datetime.now(UTC) + timedelta(seconds=self.clock_offset)
        if self.clock_start is None:
            return datetime.now(UTC)
        return self.clock_start + timedelta(seconds=(time.time() - self.launched) * self.speed)

    def move_clock(self, to: datetime, token: str, timeout: float = 60) -> None:
        """Move the running process's clock forward to `to`; return once HA's own clock shows it."""
        if self.clock_offset is None:
            raise RuntimeError("the clock is movable only when started with a clock at speed 1")
        offset = round(to.timestamp() - time.time())
        if offset < self.clock_offset:
            raise ValueError(f"the clock only moves forward (asked to go back to {to})")
        self.clock_offset = offset
        write_offset(self.offset_file, offset)
        deadline = time.monotonic() + timeout
        template = {"template": "{{ now().timestamp() }}"}
        while time.monotonic() < deadline:
            shown = float(http(f"{self.url}/api/template", template, token=token))
            if shown >= to.timestamp() - 1:
                return
            time.sleep(0.2)  # libfaketime rereads the offset within a second
        raise RuntimeError(f"Home Assistant's clock did not move to {to}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _signal(self, signum: int) -> None:
        # In the chroot, hass is the child of the shell that runs chroot_run (which unmounts
        # after it): signal hass itself; the shell follows when hass has exited.
        assert self.process is not None
        pid = self.process.pid
        if self.chroot is not None:
            children = Path(f"/proc/{pid}/task/{pid}/children")
            with contextlib.suppress(OSError, IndexError, ValueError):
                pid = int(children.read_text().split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    def kill(self) -> None:
        """kill -9: no shutdown, no final save — as a power cut."""
        if self.process is not None:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout: float = 60) -> None:
        """A clean stop, as the user's Ctrl-C or a supervisor's SIGTERM."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.homeassistant_process")
    sub = parser.add_subparsers(dest="command", required=True)
    on = sub.add_parser("onboard", help="wait for a server, finish onboarding, print the login")
    on.add_argument("--url", required=True)
    on.add_argument("--pid", type=int, help="fail early if this process exits")
    on.add_argument("--timeout", type=float, default=600)
    seed = sub.add_parser("seed", help="write a configuration folder for a server on PORT")
    seed.add_argument("--config", type=Path, required=True)
    seed.add_argument("--port", type=int, required=True)
    seed.add_argument("--demo-meter", action="store_true", help="add the simulated meters")
    seed.add_argument("--newest", action="store_true", help="for the newest Home Assistant")
    args = parser.parse_args(argv)
    if args.command == "seed":
        demo = ROOT / "scripts" / "demo" / "powerstats_demo"
        # The recorder holds the demo meter's year of history, which PowerStats backfills.
        extra = "recorder:\nsensor:\n  - platform: powerstats_demo\n" if args.demo_meter else ""
        links = (demo,) if args.demo_meter else ()
        seed_config(args.config, args.port, extra, links, newest=args.newest)
        return 0

    def alive() -> bool:
        if args.pid is None:
            return True
        try:
            os.kill(args.pid, 0)
        except ProcessLookupError:
            return False
        return True

    wait_until_up(args.url, alive, time.monotonic() + args.timeout)
    onboard(args.url)
    print(f"Home Assistant: {args.url}/  (log in as {USER} / {PASSWORD})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
