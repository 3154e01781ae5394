"""The failure drill: random faults against the whole system for a few minutes, then invariants.

Starts the fake GitHub, a `hass` whose clock runs faster under libfaketime (so a few real
minutes hold many 10-minute buckets), a meter that publishes every 10 minutes, and the board
agent mirroring from HA. Then, from a seeded schedule: kill -9 of hass at random moments and a
restart after a random downtime (its clock resumes at the moment it would have reached), the
fake GitHub failing (5xx), hanging, or rate limiting (primary with a reset, secondary with
retry-after), and the agent's source gone while hass is down — while the sensor is driven with
random values through HA's REST API. Then it stops, lets publishing and the mirror settle, and
checks the invariants of tests/e2e/drill_checks.py. Loopback only; every loop is bounded.

    python -m tests.e2e.drill [--minutes N] [--seed S] [--speed X] [--keep]
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import json
import math
import random
import shutil
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from tests.contract import ContractError, validate_bytes
from tests.e2e import drill_checks as checks
from tests.e2e.homeassistant_process import (
    HomeAssistantProcess,
    add_meter,
    http,
    long_lived_token,
    onboard,
    served_files,
)
from tests.e2e.processes import AgentProcess, FakeGitHubProcess

SENSOR = "sensor.drill_power"
POWER_ATTRIBUTES = {
    "unit_of_measurement": "W",
    "device_class": "power",
    "state_class": "measurement",
}
METER_ID = "house"
TIMEZONE = ZoneInfo("Europe/Amsterdam")  # what homeassistant_process configures
HARD_CAP_MINUTES = 10.0
# The checks at the end get this much of the hard cap; the fault phase is cut to leave it.
SETTLE_RESERVE = 200.0
# A kill needs a restart (15-25 s on a busy 2-core machine) before the phase ends.
KILL_NEEDS = 40.0
# After this fraction of the phase no GitHub fault is injected, so publishing can recover.
GITHUB_FAULTS_UNTIL = 0.75
# How late a kill may land after the drill read hass's clock, and how long after a boundary
# the save of the bucket that just closed may still be in flight (both in real seconds).
KILL_MARGIN = 1.0
SAVE_GRACE = 5.0
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
FAULT_KINDS = ("kill", "github_5xx", "github_hang", "primary_rate_limit", "secondary_rate_limit")


class DrillError(RuntimeError):
    """The drill itself could not go on (a process would not start, a deadline passed)."""


@dataclass(frozen=True)
class DrillOptions:
    """How long, how random, how fast."""

    minutes: float = 4.0
    seed: int = 1
    speed: float = 20.0  # hass's clock runs this many times as fast as the real one
    keep: bool = False  # keep the working folder (it is always kept when an invariant fails)


@dataclass
class DrillReport:
    """What the drill did and found."""

    seed: int
    faults: Counter[str]
    served: Counter[str]
    verdicts: list[checks.Verdict]
    workdir: Path
    record: checks.Record
    local: dict[str, bytes] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        return bool(self.verdicts) and all(v.held for v in self.verdicts)

    def tables(self) -> str:
        """The two tables the drill prints: faults injected and invariants."""
        lines = ["", "| fault | injected | felt |", "|---|---:|---:|"]
        for kind in sorted(self.faults):
            lines.append(f"| {kind} | {self.faults[kind]} | {self.served.get(kind, '')} |")
        lines += ["", "| invariant | result | detail |", "|---|---|---|"]
        for v in self.verdicts:
            lines.append(f"| {v.name} | {'held' if v.held else 'VIOLATED'} | {v.detail} |")
        return "\n".join(lines) + "\n"


# ---- small HTTP helpers ---------------------------------------------------------------------


def fetch(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """GET `url`: (status, body); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as err:
        return err.code, b""
    except (urllib.error.URLError, OSError):
        return 0, b""


def read_local(url: str, token: str) -> dict[str, bytes]:
    """manifest.json and every level file it lists, as HA serves them, belonging together.

    A boundary may pass between the requests; then they are made again.
    """
    for _ in range(20):
        files = served_files(url, token)
        if files is not None:
            return files
        time.sleep(0.2)  # polling another process for a set that agrees
    raise DrillError(f"no consistent set of files from {url}")


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)  # polling another process, not waiting for time to pass
    raise DrillError(f"timed out after {timeout:.0f} s waiting for {what}")


# ---- the drill ------------------------------------------------------------------------------


class Drill:
    """One run: set up, inject faults, settle, check."""

    def __init__(self, options: DrillOptions, out: TextIO = sys.stdout) -> None:
        if not 0 < options.minutes <= HARD_CAP_MINUTES:
            raise ValueError(f"--minutes must be more than 0 and at most {HARD_CAP_MINUTES:g}")
        self.options = options
        self.out = out
        self.rng = random.Random(options.seed)
        self.began = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="powerstats-drill-"))
        self.github = FakeGitHubProcess()
        self.ha = HomeAssistantProcess(config=self.workdir / "ha", speed=options.speed)
        self.agent: AgentProcess | None = None
        self.token = ""
        self.offset = 0.0  # hass's clock minus HomeAssistantProcess.now(), measured
        self.record = checks.Record(
            kill_margin=KILL_MARGIN * options.speed, save_grace=SAVE_GRACE * options.speed
        )
        self.faults: Counter[str] = Counter()
        self.probes: list[tuple[str, int, bool]] = []
        self.invalid: list[str] = []  # files found invalid during the drill (after kills)
        self.last_state = ""
        self.log_mark = 0  # length of the fake GitHub's request log at the last fault

    def say(self, text: str) -> None:
        elapsed = time.monotonic() - self.began
        self.out.write(f"[{elapsed:6.1f}s] {text}\n")
        self.out.flush()

    # -- hass's clock --------------------------------------------------------------------------

    def hass_now(self) -> float:
        return self.ha.now().timestamp() + self.offset

    def first_clock(self) -> datetime:
        """Start so that local midnight falls mid-phase: the day rollup gets exercised."""
        phase = self.options.minutes * 60
        lead = self.options.speed * (45 + phase / 2) + self.rng.uniform(-60, 60)
        tomorrow = datetime.now(TIMEZONE).date() + timedelta(days=1)
        midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=TIMEZONE)
        return (midnight - timedelta(seconds=lead)).astimezone(UTC).replace(microsecond=0)

    def start_hass(self, clock: datetime, timeout: float = 180) -> None:
        self.ha.start(clock=clock, timeout=timeout)
        self.offset = 0.0

    # -- driving the sensor --------------------------------------------------------------------

    def post(self, state: str) -> None:
        """Set the sensor through HA's REST API; record the value on hass's clock."""
        sent = self.ha.now().timestamp()
        answer = http(
            f"{self.ha.url}/api/states/{SENSOR}",
            {"state": state, "attributes": POWER_ATTRIBUTES},
            token=self.token,
        )
        received = self.ha.now().timestamp()
        changed = datetime.fromisoformat(answer["last_updated"]).timestamp()
        # The answer carries hass's own time of the change: keep our estimate of its clock close.
        self.offset = changed - (sent + received) / 2
        value: float | None
        try:
            value = float(state)
        except ValueError:
            value = None
        self.record.values.append((changed, value))
        self.last_state = state
        self.faults["sensor value"] += value is not None
        self.faults["sensor unavailable/unknown"] += value is None

    def next_state(self) -> str:
        while True:
            roll = self.rng.random()
            state = (
                self.rng.choice(("unavailable", "unknown"))
                if roll < 0.03
                else f"{self.rng.uniform(0, 4000):.1f}"
            )
            if state != self.last_state:  # an unchanged state is no state change in HA
                return state

    def drive(self, seconds: float) -> None:
        """Post random values for `seconds` (real), with random pauses between them."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.post(self.next_state())
            time.sleep(min(self.rng.uniform(0.2, 1.5), max(0.0, end - time.monotonic())))

    # -- set-up --------------------------------------------------------------------------------

    def setup(self) -> None:
        self.say(
            f"work folder {self.workdir}; seed {self.options.seed}; hass x{self.options.speed:g}"
        )
        self.github.start()
        self.start_hass(self.first_clock())
        tokens = onboard(self.ha.url)
        self.token = long_lived_token(self.ha.url, tokens.access_token, "PowerStats drill")
        self.post(self.next_state())
        self.say(f"hass up at {self.ha.url}, its clock at {self._clock_text()}")
        begin = self.hass_now()
        self.add_meter()
        self.wait_meter_loaded()
        self.record.meter_added = (begin, self.hass_now() + self.record.kill_margin)
        root = self.ha.config / "powerstats"
        _until(lambda: (root / checks.MANIFEST).exists(), 60, "the meter's first files")
        self.agent = AgentProcess(
            home=self.workdir / "agent",
            source_url=f"{self.ha.url}/api/powerstats/data/",
            token=self.token,
        )
        self.agent.write_config()
        self._quick_agent(self.agent.config_path)
        self.agent.serve()
        self.say(f"meter added, publishing every 10 minutes; agent at {self.agent.url}")

    def wait_meter_loaded(self) -> None:
        """HA answers before its integrations are set up; the meter counts only once loaded."""
        url = f"{self.ha.url}/api/config/config_entries/entry?domain=powerstats"

        def loaded() -> bool:
            entries = http(url, token=self.token)
            return bool(entries) and all(e["state"] == "loaded" for e in entries)

        _until(loaded, 60, "the meter to be set up")

    def add_meter(self) -> None:
        """Add the meter and its publishing (every 10 minutes) through the config-flow API."""
        try:
            add_meter(self.ha.url, self.token, SENSOR, "House", self.github.publishing(10), 3)
        except RuntimeError as err:
            raise DrillError(str(err)) from err

    @staticmethod
    def _quick_agent(path: Path) -> None:
        """Poll every second and give up on the source quickly: the drill is short."""
        config = configparser.ConfigParser()
        config.read(path)
        config["source"].update({"interval": "1", "max_backoff": "4", "timeout": "5"})
        with path.open("w") as file:
            config.write(file)
        path.chmod(0o600)

    # -- faults --------------------------------------------------------------------------------

    def kill_and_restart(self) -> None:
        """kill -9 at a random moment (sometimes just after a boundary), restart after a while."""
        if self.rng.random() < 0.3:
            self._drive_until_just_after_boundary()
        killed_at = self.hass_now()
        self.ha.kill()
        self.record.kills.append(killed_at)
        self.faults["kill"] += 1
        self.say(f"killed hass (kill -9) at {self._clock_text(killed_at)}")
        self._check_files_after_kill()
        downtime = self.rng.uniform(1.0, 5.0)
        end = time.monotonic() + downtime
        while time.monotonic() < end:
            self._probe_agent()
            time.sleep(0.5)  # the schedule's downtime, during which the board is probed
        self.faults["agent source away"] += 1
        # The clock resumes where it would be now: it never runs backwards across a restart.
        clock = datetime.fromtimestamp(math.ceil(self.hass_now()), UTC)
        self.start_hass(clock, timeout=90)
        self.wait_meter_loaded()
        self.post(self.next_state())  # REST-set states do not survive a restart
        self.say(f"hass back after {downtime:.1f}s down, at {self._clock_text()}")

    def _drive_until_just_after_boundary(self) -> None:
        now = self.hass_now()
        boundary = next_boundary(now) + self.rng.uniform(0, 2 * self.options.speed)
        if (boundary - now) / self.options.speed > 20:
            return  # too far off; kill now instead
        while self.hass_now() < boundary:
            self.post(self.next_state())
            wait = (boundary - self.hass_now()) / self.options.speed
            time.sleep(max(0.0, min(self.rng.uniform(0.2, 1.0), wait)))

    def _check_files_after_kill(self) -> None:
        """The files on disk are whole right after a power cut (atomic writes)."""
        root = self.ha.config / "powerstats"
        for path in sorted(root.rglob("*.json")):
            try:
                validate_bytes(path.read_bytes())
            except (ContractError, ValueError) as err:
                self.invalid.append(f"after a kill, {path.relative_to(root)}: {err}")

    def _probe_agent(self) -> None:
        assert self.agent is not None
        for path in ("/", "/manifest.json"):
            status, body = fetch(self.agent.url + path, timeout=5)
            ok = status == 200
            if ok and path.endswith(".json"):
                try:
                    validate_bytes(body)
                except (ContractError, ValueError):
                    ok = False
            self.probes.append((path, status, ok))

    def github_fault(self, kind: str) -> None:
        """Tell the fake GitHub to misbehave, then press Publish now so that it is felt."""
        fault: dict[str, Any]
        if kind == "github_5xx":
            times = self.rng.randint(1, 3)
            fault = {"status": self.rng.choice((500, 502, 503)), "times": times}
        elif kind == "github_hang":
            times = 1
            fault = {"status": 0, "times": times}  # the fake holds the request; HA times out
        elif kind == "primary_rate_limit":
            times = 1
            reset = int(self.hass_now() + self.rng.uniform(60, 240))  # on hass's clock
            fault = {
                "status": 403,
                "message": "API rate limit exceeded for user ID 1.",
                "headers": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
                "times": times,
            }
        else:
            times = 1
            fault = {
                "status": 429,
                "message": SECONDARY_LIMIT,
                "headers": {"retry-after": str(self.rng.randint(30, 180))},
                "times": times,
            }
        self.log_mark = len(self._github_log())
        http(f"{self.github.api_url}/_fake/faults", fault)
        self.faults[kind] += times
        self.publish_now()
        self.say(f"GitHub fault {kind} x{times}")

    def publish_now(self) -> None:
        http(f"{self.ha.url}/api/services/powerstats/publish", {}, token=self.token)
        self.faults["publish now pressed"] += 1

    def phase(self) -> None:
        start = time.monotonic()
        cap = self.began + HARD_CAP_MINUTES * 60 - SETTLE_RESERVE
        end = min(start + self.options.minutes * 60, cap)
        github_until = start + (end - start) * GITHUB_FAULTS_UNTIL
        self.say(f"injecting faults for {end - start:.0f} s")
        pending: list[str] = []  # every kind once per round, in a seeded order
        while True:
            self.drive(self.rng.uniform(2.0, 6.0))
            now = time.monotonic()
            if now >= end:
                break
            if not pending:
                pending = self.rng.sample(FAULT_KINDS, len(FAULT_KINDS))
            for kind in pending:
                if kind == "kill" and end - now >= KILL_NEEDS:
                    pending.remove(kind)
                    self.kill_and_restart()
                    break
                # GitHub fails "for a while", then works again: a new fault only once a publish
                # got through, or the backoff would grow past the drill's length.
                if kind != "kill" and now < github_until and self.github_recovered():
                    pending.remove(kind)
                    self.github_fault(kind)
                    break
        self.until_a_clean_bucket_closed(cap)

    def until_a_clean_bucket_closed(self, cap: float) -> None:
        """Keep driving (no more faults) until a bucket away from every kill has closed.

        Only such a bucket can be checked exactly; on a slow machine the restarts may have
        left none in a short run.
        """
        last = max(b for _, b in self.record.uncertain())
        # The bucket after the one holding `last` is clean; wait for its close and its files.
        closes = next_boundary(last) + checks.TEN_MINUTES + 3 * self.options.speed
        if self.hass_now() < closes:
            self.say("driving on until a bucket away from every kill has closed")
        while self.hass_now() < closes and time.monotonic() < cap:
            self.drive(1.0)

    def github_recovered(self) -> bool:
        """A publish went through (its ref update) since the last injected fault."""
        log = self._github_log()
        return any(e["method"] == "PATCH" and e["status"] == 200 for e in log[self.log_mark :])

    def _github_log(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.github.api_url + "/_fake/log", timeout=10) as answer:
            return list(json.load(answer))

    # -- settling and checking -----------------------------------------------------------------

    def settle(self) -> dict[str, dict[str, bytes]]:
        """Publish until GitHub holds the local files; let the agent catch up; mirror once."""
        self.post(self.next_state())
        local: dict[str, bytes] = {}
        published: dict[str, bytes] = {}
        deadline = time.monotonic() + 150
        asked_for = b""
        settled = False
        while not settled and time.monotonic() < deadline:
            local = read_local(self.ha.url, self.token)
            if local[checks.MANIFEST] != asked_for:
                self.publish_now()  # the files changed (a boundary passed): publish them
                asked_for = local[checks.MANIFEST]
            published = self._published(local)
            # A fault injected while nothing had changed waits for the next publish with
            # changes: settled only once it was felt and publishing got through after it.
            settled = (
                checks.check_published(local, published).held
                and not self.unfelt()
                and read_local(self.ha.url, self.token) == local
            )
            if not settled:
                time.sleep(1.0)  # polling GitHub for the publish, not waiting for time to pass
        self.say("publish settled" if settled else "publish did not settle in 150 s")

        # HA's clock runs on meanwhile (fast, under faketime): each copy of the agent's is
        # compared with HA's files as they were when the agent took it, not with `local`.
        assert self.agent is not None
        agent = self.agent
        live: dict[str, bytes] = {}
        live_of: dict[str, bytes] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            live_of = read_local(self.ha.url, self.token)
            live = {p: fetch(f"{agent.url}/{p}")[1] for p in live_of}
            if live == live_of:
                break
            time.sleep(0.5)  # polling the agent's next mirror
        agent.stop()
        mirrored: dict[str, bytes] = {}
        mirrored_of: dict[str, bytes] = {}
        for _ in range(3):  # again if a boundary passed while it mirrored
            mirrored_of = read_local(self.ha.url, self.token)
            result = agent.run("mirror-once")
            mirrored = {p: _read(agent.webroot / p) for p in mirrored_of}
            if read_local(self.ha.url, self.token) == mirrored_of:
                break
        if result.returncode != 0:
            self.invalid.append(f"agent mirror-once exited {result.returncode}")
        return {
            "published": published,
            "local": local,
            "live": live,
            "live_of": live_of,
            "mirrored": mirrored,
            "mirrored_of": mirrored_of,
        }

    def _published(self, local: dict[str, bytes]) -> dict[str, bytes]:
        files = {}
        for path in local:
            status, body = fetch(f"{self.github.api_url}/_pages/{self.github.repository}/{path}")
            if status == 200:
                files[path] = body
        return files

    def felt(self) -> Counter[str]:
        """What the fake GitHub actually answered with the injected faults, by kind."""
        statuses = Counter(entry["status"] for entry in self._github_log())
        return Counter(
            {
                "github_5xx": statuses[500] + statuses[502] + statuses[503],
                "github_hang": statuses[0],
                "primary_rate_limit": statuses[403],
                "secondary_rate_limit": statuses[429],
                "kill": self.faults["kill"],
            }
        )

    def unfelt(self) -> list[str]:
        """Fault kinds the fake GitHub did not (yet) answer with as often as injected."""
        felt = self.felt()
        return [k for k in FAULT_KINDS if felt[k] != self.faults[k]]

    def verdicts(self, copies: dict[str, dict[str, bytes]]) -> list[checks.Verdict]:
        local = copies["local"]
        texts = {"hass log": self.ha.log()}
        assert self.agent is not None
        for path in [*self.agent.home.rglob("*"), *(self.ha.config / "powerstats").rglob("*")]:
            if path.is_file() and not path.name.startswith("agent.conf"):
                texts[str(path.relative_to(self.workdir))] = path.read_text(errors="replace")
        unfelt = self.unfelt()
        return [
            checks.check_contract({k: v for k, v in copies.items() if v}, [*self.invalid]),
            checks.check_rows(local),
            checks.check_rollups(local),
            checks.check_buckets(local[f"{METER_ID}/daily.json"], self.record),
            checks.check_published(local, copies["published"]),
            checks.check_same(
                "the agent's live mirror equals HA's files",
                copies["live_of"],
                copies["live"],
                "served by the agent",
            ),
            checks.check_same(
                "agent mirror-once equals HA's files",
                copies["mirrored_of"],
                copies["mirrored"],
                "in the agent's web root",
            ),
            checks.check_served(self.probes, self.faults["kill"]),
            checks.check_logs(texts, (self.github.token, self.token)),
            checks.Verdict(
                "every injected fault was felt",
                not unfelt,
                f"injected and felt differ: {', '.join(unfelt)}" if unfelt else "as injected",
            ),
        ]

    # -- the whole run -------------------------------------------------------------------------

    def run(self) -> DrillReport:
        verdicts: list[checks.Verdict] = []
        local: dict[str, bytes] = {}
        try:
            self.setup()
            self.phase()
            self.say("faults stopped; settling")
            copies = self.settle()
            local = copies["local"]
            verdicts = self.verdicts(copies)
        except Exception as err:  # a process that died, a deadline: report it, stop everything
            self.out.write(traceback.format_exc())
            verdicts.append(checks.Verdict("the drill ran to its end", False, repr(err)[:300]))
        finally:
            served: Counter[str] = Counter()
            with contextlib.suppress(OSError, ValueError):
                served = self.felt()
            self.stop()
        report = DrillReport(
            self.options.seed, self.faults, served, verdicts, self.workdir, self.record, local
        )
        if report.held and not self.options.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            self.say(f"kept the work folder {self.workdir}")
        return report

    def stop(self) -> None:
        for stop in (self.ha.stop, *([self.agent.stop] if self.agent else []), self.github.stop):
            with contextlib.suppress(Exception):
                stop()

    def _clock_text(self, t: float | None = None) -> str:
        moment = datetime.fromtimestamp(self.hass_now() if t is None else t, TIMEZONE)
        return moment.isoformat(timespec="seconds")


def next_boundary(t: float) -> int:
    """The first 10-minute boundary after `t` (HA's zone is a whole number of hours off UTC,
    so the local grid is the UTC one)."""
    return (math.floor(t / checks.TEN_MINUTES) + 1) * checks.TEN_MINUTES


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/drill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=4.0,
                        help="how long to inject faults (default 4; the whole run stays "
                        f"within {HARD_CAP_MINUTES:g} minutes)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, help="the random schedule's seed")
    parser.add_argument("--speed", type=float, default=20.0,
                        help="how much faster hass's clock runs (default 20)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= HARD_CAP_MINUTES:
        parser.error(f"--minutes must be more than 0 and at most {HARD_CAP_MINUTES:g}")
    if not 1 <= args.speed <= 60:
        parser.error("--speed must be between 1 and 60")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    report = Drill(DrillOptions(args.minutes, seed, args.speed, args.keep)).run()
    sys.stdout.write(report.tables())
    held = sum(v.held for v in report.verdicts)
    sys.stdout.write(f"\n{held} of {len(report.verdicts)} invariants held (seed {seed})\n")
    return 0 if report.held else 1


if __name__ == "__main__":
    sys.exit(main())
