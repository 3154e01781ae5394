"""The recorder's keep window of states for the simulated sensors, as if HA had run all along.

A user who installs PowerStats has had Home Assistant for a while: the recorder holds raw states
for its keep window (10 days by default) and hourly statistics before that. The statistics are
imported through HA's own websocket API (tests/e2e/demo.py); raw states have no such API, so
they are written here, into the recorder's database on the recorder's own executor, as the
recorder writes them (a states_meta row per entity, shared attributes, timestamps), together
with a recorder run covering them, so PowerStats' backfill replays them into 10-minute buckets.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from homeassistant.core import CoreState, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .household import household_power
from .loads import electricity_price, ev_charger_power, heat_pump_power

POWER: dict[str, Any] = {
    "state_class": "measurement",
    "unit_of_measurement": "W",
    "device_class": "power",
}
PRICE: dict[str, Any] = {"state_class": "measurement", "unit_of_measurement": "EUR/kWh"}


def _price(now: datetime, _: random.Random) -> float:
    return electricity_price(now)


type Load = Callable[[datetime, random.Random], float]

# entity_id, friendly name, recorded attributes, value at a local time, mean seconds between two
# reports (the price changes rarely).
SERIES: tuple[tuple[str, str, dict[str, Any], Load, float], ...] = (
    ("sensor.simulated_household_power", "Simulated household power", POWER, household_power, 40),
    (
        "sensor.simulated_ev_charger_power",
        "Simulated EV charger power",
        POWER,
        ev_charger_power,
        40,
    ),
    ("sensor.simulated_heat_pump_power", "Simulated heat pump power", POWER, heat_pump_power, 40),
    ("sensor.simulated_electricity_price", "Simulated electricity price", PRICE, _price, 900),
)


def series_samples(
    entity_id: str, value: Load, start: float, end: float, mean_gap: float
) -> list[tuple[float, str]]:
    """(timestamp, state) pairs from `start` to before `end` at irregular intervals."""
    rng = random.Random(zlib.crc32(entity_id.encode()) ^ int(start))
    samples, t = [], start
    while t < end:
        samples.append((t, str(value(dt_util.as_local(datetime.fromtimestamp(t, UTC)), rng))))
        t += rng.uniform(0.5 * mean_gap, 1.5 * mean_gap)
    return samples


async def async_seed_states(hass: HomeAssistant, days: float | None) -> tuple[int, float]:
    """Write `days` (default: the recorder's keep window) of states before this run began.

    Returns how many states were written and when the first of them is (a whole hour).
    """
    from homeassistant.components.recorder import get_instance

    if hass.state is not CoreState.running:
        # Home Assistant's start waits for running tasks, and this one would wait for the
        # recorder, which waits for the start.
        raise HomeAssistantError("Home Assistant has not finished starting; try again then")
    instance = get_instance(hass)
    # The live entities' first states (and so their states_meta rows) are committed first.
    await instance.async_block_till_done()
    keep = float(instance.keep_days) if days is None else days
    written, start = await instance.async_add_executor_job(_write, instance, keep)
    return int(written), float(start)


def _write(instance: Any, days: float) -> tuple[int, float]:
    from homeassistant.components.recorder.db_schema import (
        RecorderRuns,
        StateAttributes,
        States,
        StatesMeta,
    )
    from homeassistant.components.recorder.util import session_scope
    from sqlalchemy import insert

    with session_scope(session=instance.get_session()) as session:
        current = session.query(RecorderRuns).filter(RecorderRuns.end.is_(None)).one()
        run_start = current.start.replace(tzinfo=UTC).timestamp()
        first = session.query(RecorderRuns).order_by(RecorderRuns.start).first()
        if first is not None and first.run_id != current.run_id:
            raise RuntimeError("the recorder already holds earlier runs; seed a fresh one only")
        # Whole hours, so the hourly statistics before them end where the states begin.
        start = (run_start - days * 86400) // 3600 * 3600
        written = 0
        for entity_id, name, attributes, value, gap in SERIES:
            meta = session.query(StatesMeta).filter(StatesMeta.entity_id == entity_id).one()
            recorded = {**attributes, "friendly_name": name}
            shared = json.dumps(recorded, separators=(",", ":"), sort_keys=True)
            attrs = StateAttributes(
                shared_attrs=shared,
                hash=StateAttributes.hash_shared_attrs_bytes(shared.encode()),
            )
            session.add(attrs)
            session.flush()
            rows = [
                {
                    "state": state,
                    "metadata_id": meta.metadata_id,
                    "attributes_id": attrs.attributes_id,
                    "last_updated_ts": t,
                    "last_changed_ts": None,  # None: the same as last_updated_ts
                    "last_reported_ts": None,
                    "origin_idx": 0,
                }
                for t, state in series_samples(entity_id, value, start, run_start - 1, gap)
            ]
            session.execute(insert(States), rows)
            written += len(rows)
        session.add(
            RecorderRuns(
                start=datetime.fromtimestamp(start, UTC),
                end=datetime.fromtimestamp(run_start, UTC),
                closed_incorrect=False,
                created=datetime.fromtimestamp(time.time(), UTC),
            )
        )
    return written, start
