"""The live demo's second half: a year of history, PowerStats set up, GitHub and the board agent.

scripts/develop starts Home Assistant and then runs `python -m tests.e2e.demo --url URL`. This
onboards it and gives the three simulated meters (the house, an EV charger, a heat pump) what
the recorder of a user who has had HA for a year holds: raw states for the recorder's keep
window and hourly statistics for the year before. It adds the meters through the config flow,
so PowerStats backfills that history itself (10-minute buckets from the states, hours and days
from the statistics) and the dashboard is full from the first minute, prices them with the
simulated dynamic tariff, publishes to a loopback fake GitHub, and starts the board agent
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scripts.demo.powerstats_demo.household import household_power
from scripts.demo.powerstats_demo.loads import ev_charger_power, heat_pump_power
from tests.e2e.homeassistant_process import (
    PASSWORD,
    ROOT,
    USER,
    Tokens,
    add_meter,
    http,
    long_lived_token,
    onboard,
    wait_until_running,
    wait_until_up,
)
from tests.e2e.processes import AgentProcess, FakeGitHubProcess

type Load = Callable[[datetime, random.Random], float]

SENSOR = "sensor.simulated_household_power"
PRICE_SENSOR = "sensor.simulated_electricity_price"
# The meters: source sensor, the meter's name, its load (for the statistics).
METERS: tuple[tuple[str, str, Load], ...] = (
    (SENSOR, "House", household_power),
    ("sensor.simulated_ev_charger_power", "EV charger", ev_charger_power),
    ("sensor.simulated_heat_pump_power", "Heat pump", heat_pump_power),
)
AGENT_PASSWORD = "powerstats-demo"
HOURS_OF_HISTORY = 365 * 24


def hourly_statistics(
    end: datetime, hours: int, load: Load = household_power, seed: int = 1
) -> list[dict[str, Any]]:
    """Hourly mean/min/max of a simulated load, as HA's recorder keeps them."""
    rng = random.Random(seed)
    rows = []
    for n in range(hours, 0, -1):
        start = end - timedelta(hours=n)
        samples = [load(start + timedelta(minutes=m), rng) for m in range(0, 60, 5)]
        rows.append(
            {
                "start": start.isoformat(),
                "mean": round(sum(samples) / len(samples), 2),
                "min": min(samples),
                "max": max(samples),
            }
        )
    return rows


async def _import_statistics(
    url: str, token: str, sensor: str, stats: list[dict[str, Any]]
) -> None:
    import aiohttp

    metadata: dict[str, Any] = {
        "has_mean": True,
        "has_sum": False,
        "name": None,
        "source": "recorder",
        "statistic_id": sensor,
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
        # The recorder imports in its own thread, in one go: wait until its last hour is
        # readable (asking for just that hour keeps the polling light on a busy recorder).
        deadline, request = time.monotonic() + 900, 10
        while time.monotonic() < deadline:
            request += 1
            await ws.send_json(
                {
                    "id": request,
                    "type": "recorder/statistics_during_period",
                    "start_time": stats[-1]["start"],
                    "statistic_ids": [sensor],
                    "period": "hour",
                    "types": ["mean"],
                }
            )
            answer = await ws.receive_json()
            if answer.get("result", {}).get(sensor):
                return
            await asyncio.sleep(1)  # the recorder thread is still writing
        raise RuntimeError("the imported statistics did not appear in the recorder")


def seed_history(url: str, token: str) -> datetime:
    """Give the meters a year of recorder history; return where the raw states begin.

    Raw states for the recorder's keep window are written by the demo integration's
    `seed_states` action; hourly statistics for the year before them are imported through
    HA's websocket API, as a recorder that has run for a year would hold them.
    """
    answer = http(
        f"{url}/api/services/powerstats_demo/seed_states?return_response",
        {},
        token=token,
        timeout=600,
    )
    seeded = answer["service_response"]
    states_from = datetime.fromtimestamp(seeded["start"], UTC)
    print(f"  {seeded['states']} states since {states_from:%Y-%m-%d %H:%M} UTC", flush=True)
    print("  a year of hourly statistics before them, for every meter…", flush=True)

    async def import_all() -> None:
        await asyncio.gather(
            *(
                _import_statistics(
                    url, token, sensor, hourly_statistics(states_from, HOURS_OF_HISTORY, load)
                )
                for sensor, _, load in METERS
            )
        )

    asyncio.run(import_all())
    return states_from


def add_or_backfill_meters(url: str, token: str, github: FakeGitHubProcess) -> None:
    """Seed the history and add the meters (PowerStats publishing to the fake GitHub), which
    backfill it; or, when the demo ran before, backfill the meters already there."""
    entries = http(f"{url}/api/config/config_entries/entry?domain=powerstats", token=token)
    if entries:
        http(f"{url}/api/services/powerstats/backfill", {}, token=token)
        return
    print("seeding the recorder with the simulated meters' history…", flush=True)
    seed_history(url, token)
    for n, (sensor, name, _) in enumerate(METERS):
        add_meter(url, token, sensor, name, github.publishing() if n == 0 else None)
        set_price(url, token, name)


def set_price(url: str, token: str, name: str) -> None:
    """Price a meter with the simulated tariff, as its *Change meter* dialog does."""
    (entry,) = http(f"{url}/api/config/config_entries/entry?domain=powerstats", token=token)
    subentry = next(s for s in meters_of(url, token, entry["entry_id"]) if s["title"] == name)
    flows = f"{url}/api/config/config_entries/subentries/flow"
    handler = {"handler": [entry["entry_id"], "meter"], "subentry_id": subentry["subentry_id"]}
    step = http(flows, handler, token=token)
    if step.get("step_id") != "reconfigure":
        raise RuntimeError(f"the meter {name} did not open for a change: {step}")
    source = {f["name"]: f.get("default") for f in step["data_schema"]}
    answer = {"entity_id": source["entity_id"], "name": source["name"]}
    step = http(f"{flows}/{step['flow_id']}", answer, token=token)
    if step.get("step_id") != "settings":
        raise RuntimeError(f"the meter {name} was refused: {step}")
    levels = next(f["default"] for f in step["data_schema"] if f["name"] == "levels")
    answer = {"price_mode": "entity", "price_entity": PRICE_SENSOR, "levels": levels}
    result = http(f"{flows}/{step['flow_id']}", answer, token=token)
    if result.get("type") != "abort":
        raise RuntimeError(f"pricing {name} failed: {result}")


def meters_of(url: str, token: str, entry_id: str) -> list[dict[str, Any]]:
    """The meter subentries of PowerStats' entry, as Home Assistant lists them."""

    async def listing() -> list[dict[str, Any]]:
        import aiohttp

        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(url.replace("http", "ws", 1) + "/api/websocket") as ws,
        ):
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": token})
            await ws.receive_json()
            await ws.send_json(
                {"id": 1, "type": "config_entries/subentries/list", "entry_id": entry_id}
            )
            return list((await ws.receive_json())["result"])

    return asyncio.run(listing())


def covered_days(config: Path) -> int:
    """Days of yearly.json with data, of the meter furthest behind (backfill progress)."""
    days = []
    for meter in ("house", "ev_charger", "heat_pump"):
        try:
            rows = json.loads((config / "powerstats" / meter / "yearly.json").read_bytes())["rows"]
        except (OSError, ValueError, KeyError):
            return 0
        days.append(sum(1 for row in rows if row[5]))
    return min(days)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.demo", description=__doc__)
    parser.add_argument("--url", required=True, help="the running Home Assistant")
    parser.add_argument("--config", type=Path, default=ROOT / ".dev" / "config")
    parser.add_argument("--agent-port", type=int, default=8180)
    parser.add_argument("--github-port", type=int, default=8190)
    parser.add_argument("--agent-home", type=Path, default=ROOT / ".dev" / "agent")
    args = parser.parse_args(argv)
    # Started in the background by scripts/develop, which makes it ignore Ctrl-C's SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)

    wait_until_up(args.url, lambda: True, time.monotonic() + 900)
    tokens: Tokens = onboard(args.url)
    wait_until_running(args.url, tokens.access_token, time.monotonic() + 900)
    # A new name each run: HA refuses a second token with the same name.
    token = long_lived_token(args.url, tokens.access_token, f"PowerStats demo {time.time():.0f}")

    github = FakeGitHubProcess(port=args.github_port)
    github.start()
    agent = AgentProcess(
        home=args.agent_home,
        source_url=f"{args.url}/api/powerstats/data/",
        token=token,
        port=args.agent_port,
    )
    try:
        add_or_backfill_meters(args.url, token, github)
        deadline = time.monotonic() + 600
        shown = -1
        while (covered := covered_days(args.config)) < 300 and time.monotonic() < deadline:
            if covered != shown:  # a line when it moves, not every look
                print(f"  backfilling: {covered} of 365 days…", flush=True)
                shown = covered
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
