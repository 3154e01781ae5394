"""The live demo's second half: a year of history, PowerStats set up, GitHub and the board agent.

scripts/develop starts Home Assistant and then runs `python -m tests.e2e.demo --url URL`. This
onboards it, gives the simulated meter a year of hourly statistics in HA's recorder (what a
user who has had HA for a year has), adds the meter through the config-flow API so PowerStats
backfills that history itself, publishes to a loopback fake GitHub, and starts the board agent
mirroring from HA. It prints the URLs and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scripts.demo.powerstats_demo.household import household_power
from tests.e2e.homeassistant_process import (
    PASSWORD,
    ROOT,
    USER,
    Tokens,
    add_meter,
    http,
    long_lived_token,
    onboard,
    wait_until_up,
)
from tests.e2e.processes import AgentProcess, FakeGitHubProcess

SENSOR = "sensor.simulated_household_power"
AGENT_PASSWORD = "powerstats-demo"
HOURS_OF_HISTORY = 365 * 24


def hourly_statistics(end: datetime, hours: int, seed: int = 1) -> list[dict[str, Any]]:
    """Hourly mean/min/max of the simulated household, as HA's recorder keeps them."""
    rng = random.Random(seed)
    rows = []
    for n in range(hours, 0, -1):
        start = end - timedelta(hours=n)
        samples = [household_power(start + timedelta(minutes=m), rng) for m in range(0, 60, 5)]
        rows.append(
            {
                "start": start.isoformat(),
                "mean": round(sum(samples) / len(samples), 2),
                "min": min(samples),
                "max": max(samples),
            }
        )
    return rows


async def _import_statistics(url: str, token: str, stats: list[dict[str, Any]]) -> None:
    import aiohttp

    metadata: dict[str, Any] = {
        "has_mean": True,
        "has_sum": False,
        "name": "Simulated household power",
        "source": "recorder",
        "statistic_id": SENSOR,
        "unit_of_measurement": "W",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url.replace("http", "ws", 1) + "/api/websocket", max_msg_size=0) as ws,
    ):
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        await ws.receive_json()
        # Newer HA wants the mean type and unit class spelled out; older HA refuses them.
        for attempt, extra in enumerate(({"mean_type": 1, "unit_class": "power"}, {})):
            await ws.send_json(
                {
                    "id": attempt + 1,
                    "type": "recorder/import_statistics",
                    "metadata": {**metadata, **extra},
                    "stats": stats,
                }
            )
            if (await ws.receive_json()).get("success"):
                break
        else:
            raise RuntimeError("Home Assistant refused the statistics import")
        # The recorder imports in its own thread: wait until all of it is readable.
        for attempt in range(120):
            await ws.send_json(
                {
                    "id": 10 + attempt,
                    "type": "recorder/statistics_during_period",
                    "start_time": stats[0]["start"],
                    "statistic_ids": [SENSOR],
                    "period": "hour",
                    "types": ["mean"],
                }
            )
            answer = await ws.receive_json()
            if len(answer.get("result", {}).get(SENSOR, [])) >= len(stats):
                return
            await asyncio.sleep(1)  # the recorder thread is still writing
        raise RuntimeError("the imported statistics did not appear in the recorder")


def add_or_backfill_meter(url: str, token: str, github: FakeGitHubProcess) -> None:
    """Add the meter (with publishing), which backfills; or backfill the one already there."""
    entries = http(f"{url}/api/config/config_entries/entry?domain=powerstats", token=token)
    if entries:
        http(f"{url}/api/services/powerstats/backfill", {}, token=token)
        return
    add_meter(url, token, SENSOR, "House", github.publishing())


def covered_days(config: Path) -> int:
    """How many days of yearly.json hold data (backfill progress, as the dashboard sees it)."""
    try:
        rows = json.loads((config / "powerstats" / "house" / "yearly.json").read_bytes())["rows"]
    except (OSError, ValueError, KeyError):
        return 0
    return sum(1 for row in rows if row[5])


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.demo", description=__doc__)
    parser.add_argument("--url", required=True, help="the running Home Assistant")
    parser.add_argument("--config", type=Path, default=ROOT / ".dev" / "config")
    parser.add_argument("--agent-port", type=int, default=8180)
    parser.add_argument("--github-port", type=int, default=8190)
    args = parser.parse_args(argv)
    # Started in the background by scripts/develop, which makes it ignore Ctrl-C's SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)

    wait_until_up(args.url, lambda: True, time.monotonic() + 900)
    tokens: Tokens = onboard(args.url)
    # A new name each run: HA refuses a second token with the same name.
    token = long_lived_token(args.url, tokens.access_token, f"PowerStats demo {time.time():.0f}")
    print("importing a year of hourly statistics for the simulated meter…", flush=True)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    asyncio.run(_import_statistics(args.url, token, hourly_statistics(end, HOURS_OF_HISTORY)))

    github = FakeGitHubProcess(port=args.github_port)
    github.start()
    agent = AgentProcess(
        home=ROOT / ".dev" / "agent",
        source_url=f"{args.url}/api/powerstats/data/",
        token=token,
        port=args.agent_port,
    )
    try:
        add_or_backfill_meter(args.url, token, github)
        deadline = time.monotonic() + 600
        while covered_days(args.config) < 300 and time.monotonic() < deadline:
            print(f"  backfilling: {covered_days(args.config)} of 365 days…", flush=True)
            time.sleep(5)  # watching another process's progress
        http(f"{args.url}/api/services/powerstats/publish", {}, token=token)
        agent.home.mkdir(parents=True, exist_ok=True)
        hashed = subprocess.run(
            [sys.executable, "-m", "luckfox_agent", "hash-password", "--stdin"],
            input=AGENT_PASSWORD + "\n", capture_output=True, text=True, check=True, cwd=ROOT,
        ).stdout.strip()  # fmt: skip
        agent.write_config(password_hash=hashed)
        agent.run("mirror-once")
        agent.serve()
        print(
            f"""
PowerStats demo is running:
  Home Assistant panel  {args.url}/powerstats      (log in as {USER} / {PASSWORD})
  board dashboard       {agent.url}/
  board admin           {agent.url}/admin          (password {AGENT_PASSWORD})
  GitHub Pages (fake)   {github.api_url}/_pages/{github.repository}/
Ctrl-C stops everything.
""",
            flush=True,
        )
        while True:
            time.sleep(1)  # the demo runs until it is told to stop
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()
        github.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
