"""Benchmark of the integration core: accuracy, cost per state change, file sizes.

Run with the project's venv python; prints a markdown section to stdout and exits 0.
(a) error of PowerStats' accounting and of naive 10-minute point sampling against the exact
    integral, on a generated spiky household week;
(b) microseconds per state change in the event loop of a real HA core;
(c) bytes of each file at full retention next to the old design's estimates.
"""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Import the project's package before HA's test helpers put their own custom_components first.
import custom_components.powerstats  # noqa: E402, F401
from custom_components.powerstats.core.accounting import Bucket, Kind, MeterAccumulator  # noqa: E402
from custom_components.powerstats.core.rollup import History  # noqa: E402
from custom_components.powerstats.core.timegrid import day_bounds  # noqa: E402
from custom_components.powerstats.core.views import MeterInfo, render_level  # noqa: E402
from tests.integration.household import (  # noqa: E402
    exact_bucket_kwh,
    household_events,
    sampled_bucket_kwh,
)

TZ = ZoneInfo("Europe/Amsterdam")
WEEK = 7 * 86400
OLD_DESIGN_KB = {"daily": 150, "weekly": 120, "monthly": 25, "yearly": 300}


def accuracy() -> list[str]:
    """(a) MAE per 10-minute bucket and per day, in Wh."""
    start = datetime(2026, 11, 16, tzinfo=TZ).timestamp()
    events = household_events(start, WEEK, seed=11)
    starts = [int(start) + i * 600 for i in range(WEEK // 600)]
    exact = exact_bucket_kwh(events, start + WEEK, starts, 600)
    acc = MeterAccumulator(Kind.POWER, TZ, start)
    history = History(TZ)
    for e in events:
        for b in acc.feed(e.t, e.state, "W"):
            history.add(b)
    for b in acc.advance(start + WEEK):
        history.add(b)
    sampled = sampled_bucket_kwh(events, starts, 600)
    days = [starts[i : i + 144] for i in range(0, len(starts), 144)]
    exact_days = [math.fsum(exact[s] for s in d) for d in days]

    def mae(buckets: dict[int, float], day_values: list[float]) -> tuple[float, float]:
        per_bucket = statistics.fmean(abs(buckets.get(s, 0.0) - exact[s]) for s in starts)
        per_day = statistics.fmean(abs(v - x) for v, x in zip(day_values, exact_days, strict=True))
        return per_bucket * 1000, per_day * 1000

    # PowerStats as written in the files: 10-minute and day buckets rounded to 0.1 Wh.
    ours_b, ours_d = mae(
        {s: round(b.kwh, 4) for s, b in history.ten_minutes.items()},
        [round(history.days[d[0]].kwh, 4) for d in days],
    )
    naive_b, naive_d = mae(sampled, [math.fsum(sampled[s] for s in d) for d in days])
    mean_bucket = statistics.fmean(exact.values()) * 1000
    return [
        f"(a) Accuracy on a generated spiky household week ({len(events)} state changes, "
        f"mean {mean_bucket:.1f} Wh per 10-minute bucket); error against the exact integral "
        "of the step function:",
        "",
        "| Method | MAE per 10-min bucket (Wh) | MAE per day (Wh) |",
        "|---|---:|---:|",
        f"| PowerStats (rounded to 0.1 Wh as written) | {ours_b:.4f} | {ours_d:.4f} |",
        f"| Naive 10-minute point sampling | {naive_b:.1f} | {naive_d:.1f} |",
        f"| Ratio naive / PowerStats | {naive_b / max(ours_b, 1e-9):,.0f}x | "
        f"{naive_d / max(ours_d, 1e-9):,.0f}x |",
        "",
    ]


async def event_loop_cost() -> list[str]:
    """(b) µs per state change with a real HA core, with and without a meter following it."""
    from homeassistant import loader
    from homeassistant.helpers import entity_registry as er
    from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
        MockConfigEntry,
        async_test_home_assistant,
    )

    n = 20_000
    rng = random.Random(3)
    values = [f"{rng.uniform(50, 3000):.1f}" for _ in range(n)]
    attrs = {"unit_of_measurement": "W"}
    with tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            await hass.config.async_set_time_zone("Europe/Amsterdam")
            hass.states.async_set("sensor.house_power", "100", attrs)
            hass.states.async_set("sensor.untracked_power", "100", attrs)
            # The PowerStats entry with one meter subentry, as the flows create them.
            meter = {
                "subentry_id": "subentry_house",
                "subentry_type": "meter",
                "title": "House",
                "unique_id": "house",
                "data": {
                    "entity_id": "sensor.house_power",
                    "name": "House",
                    "meter_id": "house",
                    "kind": "power",
                    "price_mode": "fixed",
                    "price": 0.25,
                    "backfill": False,
                },
            }
            entry = MockConfigEntry(
                domain="powerstats", title="PowerStats", subentries_data=[meter]
            )
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            # Without a meter the "tracked" run would measure HA alone twice.
            entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
            assert any(e.unique_id.startswith("subentry_house") for e in entities), "no meter"

            async def run(entity_id: str) -> float:
                t0 = time.perf_counter()
                for i, value in enumerate(values):
                    hass.states.async_set(entity_id, value, attrs)
                    if i % 500 == 0:
                        await hass.async_block_till_done()
                await hass.async_block_till_done()
                return (time.perf_counter() - t0) / n * 1e6

            await run("sensor.untracked_power")  # warm up
            base = min([await run("sensor.untracked_power") for _ in range(3)])
            tracked = min([await run("sensor.house_power") for _ in range(3)])
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_stop(force=True)

    acc = MeterAccumulator(Kind.POWER, TZ, 0)
    t0 = time.perf_counter()
    for i, value in enumerate(values):
        acc.feed(i * 3.0, value, "W")
    pure = (time.perf_counter() - t0) / n * 1e6
    ours = tracked - base
    return [
        f"(b) Cost per state change in the event loop of a real HA core ({n} changes, "
        "best of 3; target <= 100 µs):",
        "",
        "| Measurement | µs per state change |",
        "|---|---:|",
        f"| HA alone (`async_set` of an entity nobody follows) | {base:.1f} |",
        f"| HA + a PowerStats meter following the entity | {tracked:.1f} |",
        f"| PowerStats' share (difference) | {ours:.1f} |",
        f"| Accounting alone (`MeterAccumulator.feed`) | {pure:.2f} |",
        f"| Target / PowerStats' share | {100 / max(ours, 0.01):.1f}x |",
        "",
    ]


def file_sizes() -> list[str]:
    """(c) Bytes of each level file at full retention (priced meter)."""
    now_day = date(2026, 11, 27)
    now = day_bounds(now_day, TZ)[0] + 12 * 3600
    week_start = now - 9 * 86400
    history = History(TZ)
    acc = MeterAccumulator(Kind.POWER, TZ, week_start)
    acc.set_price(week_start, 0.2734)
    for e in household_events(week_start, now - week_start, seed=5):
        for b in acc.feed(e.t, e.state, "W"):
            history.add(b)
    for b in acc.advance(now):
        history.add(b)
    rng = random.Random(9)
    older = []
    for i in range(10, 400):
        start, end = day_bounds(now_day - timedelta(days=i), TZ)
        kwh = rng.uniform(4, 16)
        older.append(
            Bucket(
                start,
                end - start,
                kwh,
                end - start,
                rng.uniform(40, 120),
                rng.uniform(2000, 3500),
                kwh * 0.2734,
            )
        )
    history.merge_external(now, days=older)
    for d in older:  # recorded live, not backfilled
        history.days[d.start] = d
    info = MeterInfo(
        "house", "House", "sensor.house_power", "power", "Europe/Amsterdam", "EUR", True
    )
    lines = [
        "(c) Size of each file at full retention (priced meter, every row filled), "
        "against the old design's estimates (target: at least 5x smaller):",
        "",
        "| File | Rows | Bytes | Old design | Smaller by |",
        "|---|---:|---:|---:|---:|",
    ]
    for level, old_kb in OLD_DESIGN_KB.items():
        data = render_level(info, level, history, now)  # type: ignore[arg-type]
        rows = data.count(b"\n[")
        lines.append(
            f"| {level}.json | {rows} | {len(data):,} | {old_kb} KB | "
            f"{old_kb * 1000 / len(data):.1f}x |"
        )
    lines.append("")
    return lines


def main() -> int:
    out = ["## Integration core (exact accounting, event-loop cost, file sizes)", ""]
    out += accuracy()
    out += asyncio.run(event_loop_cost())
    out += file_sizes()
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
