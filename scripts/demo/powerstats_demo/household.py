"""A household load like a real one: standby, a cycling fridge, lights, kettle spikes."""

from __future__ import annotations

import math
import random
from datetime import datetime


def household_power(now: datetime, rng: random.Random) -> float:
    """Return the household's power draw in W at local time `now`."""
    minute_of_day = now.hour * 60 + now.minute + now.second / 60
    standby = 95.0
    # The fridge compressor runs about 18 minutes in every 45.
    fridge = 85.0 if (now.timestamp() / 60) % 45 < 18 else 0.0
    # Lights and TV in the evening (more in the dark half of the year), a little in the morning.
    winter = 1.0 + 0.6 * math.cos(2 * math.pi * (now.timetuple().tm_yday - 10) / 365)
    evening = 260.0 * winter * max(0.0, math.sin(math.pi * (minute_of_day - 17 * 60) / (6 * 60)))
    # At home during the day at weekends: cooking, washing, a computer.
    weekend = 180.0 if now.weekday() >= 5 and 9 * 60 < minute_of_day < 18 * 60 else 0.0
    morning = 120.0 * max(0.0, math.sin(math.pi * (minute_of_day - 6.5 * 60) / (2 * 60)))
    # A kettle (2.2 kW for a few minutes) now and then, mostly in the morning and afternoon.
    awake = 6 * 60 < minute_of_day < 22 * 60
    kettle = 2200.0 if awake and (now.timestamp() // 180) % 37 == 0 else 0.0
    noise = rng.gauss(0.0, 6.0)
    return round(max(0.0, standby + fridge + evening + morning + weekend + kettle + noise), 1)
