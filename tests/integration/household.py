"""A generated household load and the exact integral of its step function (test reference).

Used by the accounting tests and benchmarks/bench_core.py. Seeded, so every run is the same.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """The source sensor reported `state` (a number as text, or unavailable) at `t`."""

    t: float
    state: str


def household_events(start: float, seconds: float, seed: int = 1) -> list[Event]:
    """Standby, fridge cycles, kettle and oven spikes, reported at random intervals."""
    rng = random.Random(seed)
    spikes: list[tuple[float, float, float]] = []  # (from, to, watts)
    t = start
    while t < start + seconds:
        t += rng.expovariate(1 / 5400)  # a kettle / microwave every ~1.5 h
        spikes.append((t, t + rng.uniform(45, 240), rng.uniform(1800, 3000)))
    for day in range(int(seconds // 86400) + 1):
        oven = start + day * 86400 + rng.uniform(16, 19) * 3600
        spikes.append((oven, oven + rng.uniform(1200, 3600), 2200.0))

    def load(at: float) -> float:
        standby = 85 + 15 * math.sin(at / 7000)
        fridge = 110.0 if (at % 3600) < 1300 else 0.0
        spike = sum(w for a, b, w in spikes if a <= at < b)
        return standby + fridge + spike + rng.uniform(-3, 3)

    events: list[Event] = []
    t = start
    while t < start + seconds:
        events.append(Event(t, f"{load(t):.1f}"))
        t += rng.choice((1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)) * rng.random() + 0.5
    return events


def exact_bucket_kwh(
    events: Sequence[Event], end: float, bucket_starts: Sequence[int], size: int
) -> dict[int, float]:
    """kWh per bucket of the step function the events describe, integrated exactly.

    `bucket_starts` is a regular grid of `size`-second buckets.
    """
    result = dict.fromkeys(bucket_starts, 0.0)
    first = bucket_starts[0]
    for i, ev in enumerate(events):
        until = events[i + 1].t if i + 1 < len(events) else end
        try:
            watts = float(ev.state)
        except ValueError:
            continue
        if not math.isfinite(watts):
            continue
        s = first + math.floor((ev.t - first) / size) * size
        while s < until:
            overlap = min(until, s + size) - max(ev.t, s)
            if overlap > 0 and s in result:
                result[s] += watts * overlap / 3_600_000
            s += size
    return result


def sampled_bucket_kwh(
    events: Sequence[Event], bucket_starts: Sequence[int], size: int
) -> dict[int, float]:
    """The old way: the value at each bucket start, held for the whole bucket."""
    result: dict[int, float] = {}
    i = 0
    for s in bucket_starts:
        while i + 1 < len(events) and events[i + 1].t <= s:
            i += 1
        try:
            watts = float(events[i].state) if events[i].t <= s else 0.0
        except ValueError:
            watts = 0.0
        result[s] = watts * size / 3_600_000
    return result
