"""Benchmark: backfill throughput, in hours of history per second, for a year of statistics.

A real HA core with a real recorder (SQLite in a temporary folder) holds a year of hourly
long-term statistics of a power sensor. Timed side by side in one run: the whole
`powerstats.backfill` action (recorder reads in chunks, conversion, merge, save, files), the
recorder reads alone, and the pure conversion alone. Run with the project's venv python; prints
a markdown section to stdout.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import custom_components.powerstats  # noqa: E402, F401 - ours before HA looks for it
from custom_components.powerstats.backfill import _read_statistics  # noqa: E402
from custom_components.powerstats.core.accounting import Kind  # noqa: E402
from custom_components.powerstats.core.recorder_buckets import (  # noqa: E402
    HourStatistic,
    days_from_hours,
    hours_from_power_statistics,
)

SOURCE = "sensor.house_power"
HOURS = 365 * 24
REPEATS = 3
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def statistics_rows() -> list[dict[str, Any]]:
    rng = random.Random(3)
    first = NOW - timedelta(hours=HOURS)
    rows = []
    for i in range(HOURS):
        mean = rng.uniform(100, 1200)
        rows.append(
            {"start": first + timedelta(hours=i), "mean": mean, "min": mean / 3, "max": mean * 4}
        )
    return rows


async def run() -> list[tuple[str, float]]:
    from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
    from homeassistant.components.recorder.statistics import async_import_statistics
    from homeassistant.helpers.recorder import async_initialize_recorder, get_instance
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
        MockConfigEntry,
        async_test_home_assistant,
    )
    from pytest_homeassistant_custom_component.components.recorder.common import (  # type: ignore[import-untyped]
        async_wait_recording_done,
    )

    results: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        async with async_test_home_assistant(config_dir=folder) as hass:
            await hass.config.async_set_time_zone("Europe/Amsterdam")
            hass.data.pop("custom_components", None)
            async_initialize_recorder(hass)
            assert await async_setup_component(
                hass,
                "recorder",
                {"recorder": {"db_url": f"sqlite:///{folder}/bench.db", "commit_interval": 0}},
            )
            await get_instance(hass).async_db_ready
            meta: dict[str, Any] = {
                "has_sum": False,
                "mean_type": StatisticMeanType.ARITHMETIC,
                "name": None,
                "source": "recorder",
                "statistic_id": SOURCE,
                "unit_of_measurement": "W",
            }
            if "unit_class" in StatisticMetaData.__annotations__:
                meta["unit_class"] = "power"  # newer HA asks which converter the unit uses
            async_import_statistics(hass, meta, statistics_rows())  # type: ignore[arg-type]
            await async_wait_recording_done(hass)
            hass.states.async_set(SOURCE, "500", {"unit_of_measurement": "W"})
            await async_wait_recording_done(hass)

            # The whole action, on a fresh meter each time (a re-run would land nothing).
            timings = []
            for i in range(REPEATS):
                meter = {
                    "entity_id": SOURCE,
                    "name": f"House {i}",
                    "meter_id": f"house{i}",
                    "kind": "power",
                    "backfill": False,
                }
                entry = MockConfigEntry(
                    domain="powerstats",
                    title="PowerStats",
                    subentries_data=[
                        {
                            "subentry_id": f"house{i}",
                            "subentry_type": "meter",
                            "title": f"House {i}",
                            "unique_id": f"house{i}",
                            "data": meter,
                        }
                    ],
                )
                entry.add_to_hass(hass)
                assert await hass.config_entries.async_setup(entry.entry_id)
                await hass.async_block_till_done()
                began = time.perf_counter()
                # No meter given: every meter of the (one-meter) dataset.
                response = await hass.services.async_call(
                    "powerstats", "backfill", {}, blocking=True, return_response=True
                )
                timings.append(time.perf_counter() - began)
                assert response is not None
                found = response["meters"][f"house{i}"]["from_statistics_hours"]
                assert found == HOURS, found
                await hass.config_entries.async_unload(entry.entry_id)
            results.append(
                ("`powerstats.backfill` action (read, convert, merge, save, files)", min(timings))
            )

            # The recorder reads alone, in the same 31-day chunks.
            recorder = get_instance(hass)
            begin = (NOW - timedelta(hours=HOURS)).timestamp()
            timings = []
            stats: list[HourStatistic] = []
            for _ in range(REPEATS):
                stats = []
                began = time.perf_counter()
                t = begin
                while t < NOW.timestamp():
                    end = min(NOW.timestamp(), t + 31 * 86400)
                    stats += await recorder.async_add_executor_job(
                        _read_statistics, hass, SOURCE, Kind.POWER, t, end
                    )
                    t = end
                timings.append(time.perf_counter() - began)
            assert len(stats) == HOURS
            results.append(("recorder reads only (statistics_during_period)", min(timings)))

            # The pure conversion alone.
            timings = []
            for _ in range(REPEATS):
                began = time.perf_counter()
                hours = hours_from_power_statistics(AMSTERDAM, stats, "W")
                days_from_hours(AMSTERDAM, hours)
                timings.append(time.perf_counter() - began)
            results.append(
                (
                    "conversion only (core/recorder_buckets.py: statistics to hours and days)",
                    min(timings),
                )
            )
            # Stop HA (and with it the recorder thread) before the harness tears down.
            await hass.async_stop()
    return results


def main() -> int:
    logging.disable(logging.WARNING)
    results = asyncio.run(run())
    full = results[0][1]
    print("## Backfill throughput\n")
    print(
        f"A year ({HOURS} hours) of hourly long-term statistics of a power sensor in a real "
        "recorder (SQLite), HA "
        f"{__import__('homeassistant.const').const.__version__}; best of {REPEATS}.\n"
    )
    print("| step | seconds | hours of history per second | share of the action |")
    print("|---|---:|---:|---:|")
    for name, seconds in results:
        print(f"| {name} | {seconds:.3f} | {HOURS / seconds:,.0f} | {seconds / full:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
