"""Recorder history → buckets: what a backfill imports, computed like live accounting.

Pure: no Home Assistant import and no clock reads. The backfill (backfill.py) reads HA's
recorder and hands the rows here as plain values:

- raw states (the recorder's keep window) are replayed through the same `MeterAccumulator`
  live tracking uses, so they give the exact same 10-minute buckets;
- hourly long-term statistics (kept forever) give hour buckets: a power statistic's
  time-weighted mean times the hour's length is the hour's exact energy; an energy statistic's
  `sum` difference between two consecutive hours is that hour's energy. An hour without a
  statistic is a gap, and so is the first hour after one for an energy sensor (its increase
  would include whatever the counter gained while nothing was recorded).

Every bucket made here has `backfill == covered`: all of its covered time came from the recorder.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, tzinfo

from .accounting import (
    ENERGY_UNITS,
    POWER_UNITS,
    WS_PER_KWH,
    Bucket,
    Kind,
    MeterAccumulator,
    plausible_reading,
)
from .rollup import combine
from .timegrid import HOUR, day_bounds, hour_seconds, hour_start, local_date


@dataclass(frozen=True, slots=True)
class RecordedState:
    """One state of the source sensor as the recorder holds it."""

    t: float
    state: str
    unit: str | None
    # How an energy sensor counts (its attributes, as live tracking reads them).
    state_class: str | None = None
    last_reset: float | None = None  # Unix seconds


@dataclass(frozen=True, slots=True)
class HourStatistic:
    """One hourly long-term statistic, in the statistic's own unit (None = not recorded)."""

    start: float
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    sum: float | None = None


@dataclass(frozen=True, slots=True)
class Imported:
    """Buckets of every stored level, ready for `History.merge_external`."""

    ten_minutes: tuple[Bucket, ...] = ()
    hours: tuple[Bucket, ...] = ()
    days: tuple[Bucket, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether the recorder had nothing to import."""
        return not (self.ten_minutes or self.hours or self.days)

    @property
    def covered_seconds(self) -> float:
        """Covered time across the imported days (each second counted once)."""
        return math.fsum(b.covered for b in self.days)

    @property
    def kwh(self) -> float:
        """Energy across the imported days."""
        return math.fsum(b.kwh for b in self.days)


def as_backfill(bucket: Bucket) -> Bucket:
    """The bucket marked as wholly imported from the recorder."""
    return replace(bucket, backfill=bucket.covered)


class StateReplay:
    """Replays recorded states of one meter into 10-minute buckets, chunk by chunk.

    Starts at `start` (a 10-minute boundary); the first state fed may be older (the value in
    effect at `start`). A fixed `price` prices the energy as live tracking would.
    """

    def __init__(self, kind: Kind, tz: tzinfo, start: float, price: float | None = None) -> None:
        self._acc = MeterAccumulator(kind, tz, start)
        if price is not None:
            self._acc.set_price(start, price)

    def feed(self, states: Iterable[RecordedState]) -> list[Bucket]:
        """Feed states in time order; returns the buckets that closed on the way."""
        closed: list[Bucket] = []
        for s in states:
            closed += self._acc.feed(s.t, s.state, s.unit, s.state_class, s.last_reset)
        return [as_backfill(b) for b in closed]

    def finish(self, end: float) -> list[Bucket]:
        """Account up to `end` (a 10-minute boundary); returns the last closed buckets."""
        return [as_backfill(b) for b in self._acc.advance(end)]


def buckets_from_states(
    kind: Kind,
    tz: tzinfo,
    start: float,
    end: float,
    states: Iterable[RecordedState],
    price: float | None = None,
) -> list[Bucket]:
    """Closed 10-minute buckets of `[start, end)` from recorded states (one chunk)."""
    replay = StateReplay(kind, tz, start, price)
    return [*replay.feed(s for s in states if s.t < end), *replay.finish(end)]


def _hour_pieces(start: float, tz: tzinfo) -> list[tuple[int, float]]:
    """The local clock hours a UTC statistics hour overlaps: (local hour start, seconds).

    Statistics hours start on the UTC hour; in a zone whose offset is not a whole number of
    hours (India, Nepal, parts of Australia) each one straddles two local hours.
    """
    begin, end = float(start), float(start) + HOUR
    pieces: list[tuple[int, float]] = []
    t = begin
    while t < end:
        local = hour_start(t, tz)
        until = min(end, float(local + hour_seconds(local, tz)))
        pieces.append((local, until - t))
        t = until
    return pieces


def hours_from_power_statistics(
    tz: tzinfo, stats: Sequence[HourStatistic], unit: str | None, price: float | None = None
) -> list[Bucket]:
    """Hour buckets from hourly power statistics (time-weighted mean, min, max).

    A statistic whose hour straddles a local hour boundary is split by time; its energy in
    total stays exact.
    """
    factor = POWER_UNITS.get(unit or "")
    if factor is None:
        return []
    parts: dict[int, list[Bucket]] = defaultdict(list)
    for stat in stats:
        mean_w = _watts(stat.mean, factor)
        if mean_w is None:
            continue
        low, high = _watts(stat.min, factor), _watts(stat.max, factor)
        power_range = (
            mean_w if low is None else min(low, mean_w),
            mean_w if high is None else max(high, mean_w),
        )
        for local, seconds in _hour_pieces(stat.start, tz):
            parts[local].append(
                _piece(
                    tz,
                    local,
                    seconds,
                    mean_w * seconds / WS_PER_KWH,
                    power_range,
                    price,
                )
            )
    return _combine_hours(tz, parts)


def hours_from_energy_statistics(
    tz: tzinfo, stats: Sequence[HourStatistic], unit: str | None, price: float | None = None
) -> list[Bucket]:
    """Hour buckets from hourly energy statistics: differences of consecutive `sum`s.

    `stats` should start one hour before the first hour wanted (its `sum` is the baseline).
    """
    factor = ENERGY_UNITS.get(unit or "")
    if factor is None:
        return []
    parts: dict[int, list[Bucket]] = defaultdict(list)
    previous: HourStatistic | None = None
    for stat in sorted(stats, key=lambda s: s.start):
        if stat.sum is None or not plausible_reading(stat.sum * factor, Kind.ENERGY):
            previous = None
            continue
        consecutive = previous is not None and stat.start - previous.start == HOUR
        if consecutive and previous is not None and previous.sum is not None:
            kwh_hour = (stat.sum - previous.sum) * factor
            mean_w = kwh_hour * WS_PER_KWH / HOUR
            for local, seconds in _hour_pieces(stat.start, tz):
                parts[local].append(
                    _piece(tz, local, seconds, kwh_hour * seconds / HOUR, (mean_w, mean_w), price)
                )
        previous = stat
    return _combine_hours(tz, parts)


def _piece(
    tz: tzinfo,
    local: int,
    seconds: float,
    kwh: float,
    power_range: tuple[float, float],
    price: float | None,
) -> Bucket:
    """The part of a statistics hour that falls in the local hour starting at `local`, all of
    it rebuilt from the recorder (backfill)."""
    return Bucket(
        start=local,
        seconds=hour_seconds(local, tz),
        kwh=kwh,
        covered=seconds,
        min_w=power_range[0],
        max_w=power_range[1],
        cost=None if price is None else kwh * price,
        backfill=seconds,
    )


def _watts(value: float | None, factor: float) -> float | None:
    """A statistic's power in W; None when missing, NaN, infinite or beyond any meter."""
    if value is None:
        return None
    watts = value * factor
    return watts if plausible_reading(watts, Kind.POWER) else None


def _combine_hours(tz: tzinfo, parts: dict[int, list[Bucket]]) -> list[Bucket]:
    hours = [
        combine(children, start, hour_seconds(start, tz))
        for start, children in sorted(parts.items())
    ]
    return [h for h in hours if h is not None]


def hours_from_ten_minutes(tz: tzinfo, ten_minutes: Iterable[Bucket]) -> list[Bucket]:
    """Hour buckets rolled up from 10-minute buckets (exact sums, as live rollups do)."""
    parts: dict[int, list[Bucket]] = defaultdict(list)
    for b in ten_minutes:
        parts[hour_start(b.start, tz)].append(b)
    return _combine_hours(tz, parts)


def days_from_hours(tz: tzinfo, hours: Iterable[Bucket]) -> list[Bucket]:
    """Day buckets (local calendar days) rolled up from hour buckets."""
    parts: dict[date, list[Bucket]] = defaultdict(list)
    for b in hours:
        parts[local_date(b.start, tz)].append(b)
    days: list[Bucket] = []
    for day, children in sorted(parts.items()):
        start, end = day_bounds(day, tz)
        rolled = combine(children, start, end - start)
        if rolled is not None:
            days.append(rolled)
    return days


def assemble(
    tz: tzinfo, ten_minutes: Sequence[Bucket], statistic_hours: Sequence[Bucket]
) -> Imported:
    """Every level from state-based 10-minute buckets and statistic-based hours.

    The two must not overlap in time (the backfill takes statistics only for UTC hours before
    the instant it starts replaying states). A local hour may hold both: in a zone whose offset
    is not a whole number of hours, the hour where the sources meet is half of each.
    """
    parts: dict[int, list[Bucket]] = defaultdict(list)
    for b in statistic_hours:
        parts[b.start].append(b)
    for b in ten_minutes:
        parts[hour_start(b.start, tz)].append(b)
    hours = _combine_hours(tz, parts)
    return Imported(
        ten_minutes=tuple(sorted(ten_minutes, key=lambda b: b.start)),
        hours=tuple(hours),
        days=tuple(days_from_hours(tz, hours)),
    )
