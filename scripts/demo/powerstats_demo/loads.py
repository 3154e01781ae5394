"""The demo's other meters and its tariff: an EV charger, a heat pump, a dynamic price."""

from __future__ import annotations

import math
import random
from datetime import datetime


def _winter(now: datetime) -> float:
    """1 in deep winter (mid-January), 0 in high summer."""
    return 0.5 + 0.5 * math.cos(2 * math.pi * (now.timetuple().tm_yday - 15) / 365)


def ev_charger_power(now: datetime, rng: random.Random) -> float:
    """An EV charger in W at local time `now`: 7.4 kW sessions on some evenings, else standby.

    Whether a day has a session, when it starts and how long it lasts follow from the date, so
    every sample of one evening agrees whatever order they are drawn in.
    """
    day = random.Random(now.date().toordinal())
    if day.random() < 0.45:  # a bit under half the evenings
        start = 18 * 60 + day.randrange(0, 150)
        length = day.randrange(60, 240)
        minute = now.hour * 60 + now.minute
        if start <= minute < start + length:
            return round(7400.0 + rng.gauss(0.0, 40.0), 1)
    return round(3.0 + rng.random(), 1)


def heat_pump_power(now: datetime, rng: random.Random) -> float:
    """A heat pump in W at local time `now`: cycles harder and longer the colder the season."""
    winter = _winter(now)
    # One cycle every 40 minutes; in winter it runs most of it, in summer only for hot water.
    duty = 0.15 + 0.7 * winter
    phase = (now.timestamp() / 60) % 40 / 40
    if phase < duty:
        night_boost = 1.2 if now.hour < 6 else 1.0
        return round((600.0 + 1400.0 * winter) * night_boost + rng.gauss(0.0, 25.0), 1)
    return round(18.0 + rng.random() * 2, 1)


def electricity_price(now: datetime) -> float:
    """A dynamic tariff in EUR/kWh at local time `now`: dear at the evening peak, cheap at night."""
    minute = now.hour * 60 + now.minute
    evening = 0.12 * max(0.0, math.sin(math.pi * (minute - 16 * 60) / (6 * 60)))
    night = -0.06 if now.hour < 6 else 0.0
    return round(0.24 + evening + night, 4)
