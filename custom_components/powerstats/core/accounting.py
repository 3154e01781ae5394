"""Meter accounting: a source sensor's state stream becomes exact 10-minute buckets.

Pure: no Home Assistant import and no clock reads. The caller feeds (time, state, unit) of the
source sensor (and of the price, when one is configured) in time order and moves the clock with
`advance`; every closed 10-minute bucket is handed back as a frozen `Bucket`.

Power sensors: each reported value holds until the next change (a step function) and the bucket
energy is its exact integral. Energy sensors: the sum of increases between valid readings, with
meter resets treated as HA's long-term statistics treat them: a counter that only counts up
(state class `total_increasing`, or none) was reset when it drops below 90 % of a positive
reading, and has no valid reading below zero; a net counter (`total`) was reset when its
`last_reset` changes, and any other decrease is energy going the other way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from typing import Any, Final

from .timegrid import TEN_MINUTES, ten_minute_start

WS_PER_KWH: Final = 3_600_000.0
# HA's statistics call a total_increasing drop below this fraction of the last reading a reset.
RESET_FRACTION: Final = 0.9
# The state class (HA's SensorStateClass.TOTAL) of a net energy counter: one that may go down,
# and below zero, as energy flows the other way (grid import minus export).
NET_COUNTER: Final = "total"
# The largest numbers PowerStats counts. A reading beyond them is a glitch, not a measurement
# (no meter PowerStats follows draws 100 MW, no counter reads a billion MWh, no tariff is a
# million per kWh), and counting it would overflow the sums to infinity, which no file can hold.
MAX_POWER_W: Final = 1e8
MAX_COUNTER_KWH: Final = 1e12
MAX_PRICE: Final = 1e6


class Kind(StrEnum):
    """What the source sensor measures."""

    POWER = "power"
    ENERGY = "energy"


# Factor to W (power) or to kWh (energy).
POWER_UNITS: Final[dict[str, float]] = {"W": 1.0, "kW": 1000.0}
ENERGY_UNITS: Final[dict[str, float]] = {"Wh": 0.001, "kWh": 1.0}
# kWh in the energy a price is quoted per ("EUR/MWh" is a day-ahead market's unit).
PRICE_ENERGY_KWH: Final[dict[str, float]] = {"wh": 0.001, "kwh": 1.0, "mwh": 1000.0}
# The hundredths of a currency that price sensors quote in: "ct/kWh", "c/kWh", "öre/kWh", "p/kWh".
HUNDREDTHS: Final = frozenset({"ct", "c", "cent", "cents", "öre", "øre", "p", "pence"})
# Units of what a price is not, picked by mistake (a power, an energy, a temperature, a share).
NOT_MONEY: Final = frozenset({"W", "kW", "MW", "Wh", "kWh", "MWh", "°C", "°F", "%", "V", "A"})


def unit_text(unit: object) -> str:
    """A state's unit attribute as text; "" (no unit) when there is none or it is no text.

    Attributes are whatever wrote the state (a REST call may set a list or a number): one
    that is no text, used as a key, would raise in the state listener, and the value read
    before would go on being counted.
    """
    return unit if isinstance(unit, str) else ""


def kind_of_unit(unit: object) -> Kind | None:
    """The kind of meter a unit belongs to, or None when PowerStats cannot use it."""
    text = unit_text(unit)
    if text in POWER_UNITS:
        return Kind.POWER
    if text in ENERGY_UNITS:
        return Kind.ENERGY
    return None


def _finite(state: str) -> float | None:
    """A state as a finite number; None for unavailable/unknown, text, NaN and infinities."""
    try:
        value = float(state)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def plausible_reading(value: float, kind: Kind) -> bool:
    """Whether a reading in W (power) or kWh (energy) is one a meter can give (never NaN or
    infinite: no comparison with them holds)."""
    return abs(value) <= (MAX_POWER_W if kind is Kind.POWER else MAX_COUNTER_KWH)


def parse_reading(state: str, unit: object, kind: Kind) -> float | None:
    """A state as W (power) or kWh (energy); None when it cannot be counted.

    `unavailable`, `unknown`, anything non-numeric, non-finite or beyond what a meter can read,
    and a unit of the other kind all mean "no valid value" and stop coverage.
    """
    factor = (POWER_UNITS if kind is Kind.POWER else ENERGY_UNITS).get(unit_text(unit))
    value = _finite(state)
    if factor is None or value is None:
        return None
    value *= factor
    return value if plausible_reading(value, kind) else None


def price_unit(unit: object) -> tuple[float, str | None] | None:
    """What a price sensor's unit says: (factor to a price per kWh in whole currency, the
    money part as written), or None when it is no price per energy.

    No unit, or a money one without "/" ("EUR", "€"), is taken as per kWh, as template sensors
    often are; "<money>/<Wh|kWh|MWh>" is converted, a hundredth ("ct/kWh") to whole currency.
    """
    if unit is not None and not isinstance(unit, str):
        return None  # a list or a number: not "no unit" (per kWh), but none PowerStats can read
    text = (unit or "").strip()
    if text in NOT_MONEY:
        return None
    if "/" not in text:
        return 1.0, text or None
    money, _, energy = (part.strip() for part in text.rpartition("/"))
    per_kwh = PRICE_ENERGY_KWH.get(energy.lower())
    if per_kwh is None or not money:
        return None
    hundredth = 0.01 if money.lower() in HUNDREDTHS else 1.0
    return hundredth / per_kwh, money


def other_currency(money: str | None, currency: str | None) -> bool:
    """Whether a price's money part names an ISO 4217 code other than `currency`."""
    if money is None or currency is None or money.lower() in HUNDREDTHS:
        return False
    return len(money) == 3 and money.isascii() and money.isalpha() and money.upper() != currency


def parse_price(state: str, unit: object = None, currency: str | None = None) -> float | None:
    """A price entity's state as a price per kWh in `currency` (Home Assistant's), or None.

    Converted as `price_unit` says; None (unknown) for a unit that is no price per energy, for
    a price in another currency than `currency` and for one beyond `MAX_PRICE`.
    """
    value = _finite(state)
    read = price_unit(unit)
    if value is None or read is None or other_currency(read[1], currency):
        return None
    value *= read[0]
    return value if abs(value) <= MAX_PRICE else None


def energy_increase(previous: float, current: float, counts_up: bool = True) -> float:
    """Increase of an energy counter between two readings, as HA's statistics count it.

    A counter that only counts up (`counts_up`) was reset when it drops below 90 % of a
    positive reading: the new reading is the increase since the reset. Any other decrease (of a
    net counter, or from zero or below) is energy going the other way.
    """
    if counts_up and previous > 0 and current < RESET_FRACTION * previous:
        return current
    return current - previous


def parse_last_reset(value: object, tz: tzinfo) -> float | None:
    """A net counter's `last_reset` attribute (ISO 8601; without an offset, local time) as Unix
    seconds; None when missing or unreadable, which HA's statistics ignore as well."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if when is None:
        return None
    return (when if when.tzinfo is not None else when.replace(tzinfo=tz)).timestamp()


def mean_power(kwh: float, covered: float) -> float:
    """Mean power in W of `kwh` spread over `covered` seconds (more than 0)."""
    return kwh * WS_PER_KWH / covered


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket of one meter: what was measured from `start` for `seconds`.

    `covered` counts the seconds the source had a valid value; `backfill` the part of them that
    came from outside live tracking (HA's recorder). `cost` is None when no price was known.
    """

    start: int
    seconds: int
    kwh: float
    covered: float
    min_w: float | None
    max_w: float | None
    cost: float | None = None
    backfill: float = 0.0

    @property
    def coverage(self) -> float:
        """Fraction of the bucket with a valid value (0..1)."""
        return 0.0 if self.seconds <= 0 else min(1.0, self.covered / self.seconds)

    @property
    def mean_w(self) -> float | None:
        """Mean power over the covered time."""
        return None if self.covered <= 0 else mean_power(self.kwh, self.covered)


class MeterAccumulator:
    """The open 10-minute bucket of one meter and the value currently in effect.

    Everything before `accounted_until` is in a closed bucket or the open one; a crash loses at
    most the open bucket, which then shows as missing coverage, never as a wrong number.
    """

    __slots__ = (
        "_cost",
        "_covered",
        "_cycle",
        "_max",
        "_min",
        "_open_start",
        "_price",
        "_since",
        "_state_class",
        "_t",
        "_value",
        "_ws",
        "kind",
        "tz",
    )

    def __init__(self, kind: Kind, tz: tzinfo, now: float) -> None:
        self.kind = kind
        self.tz = tz
        self._t = float(now)
        self._open_start = ten_minute_start(now, tz)
        self._value: float | None = None  # W (power) or counter kWh (energy); None = gap
        self._since = float(now)  # energy: time of the reading `_value` came from
        # Energy: the source's state class as last reported (not every state carries it), and
        # the `last_reset` of the cycle a net counter is in.
        self._state_class: str | None = None
        self._cycle: float | None = None
        self._price: float | None = None
        self._reset_open()

    def _reset_open(self) -> None:
        self._ws = 0.0
        self._covered = 0.0
        self._min: float | None = None
        self._max: float | None = None
        self._cost: float | None = None

    @property
    def accounted_until(self) -> float:
        """Everything before this instant is accounted for."""
        return self._t

    @property
    def has_value(self) -> bool:
        """Whether the source currently has a valid value (time is being covered)."""
        return self._value is not None

    def feed(
        self,
        t: float,
        state: str,
        unit: object,
        state_class: str | None = None,
        last_reset: float | None = None,
    ) -> list[Bucket]:
        """The source reported `state` in `unit` at `t`; returns buckets closed on the way.

        An energy sensor's `state_class` says how it counts (None: as last reported, or only
        up when never reported); `last_reset` (Unix s) is when a net counter's cycle began.
        """
        value = parse_reading(state, unit, self.kind)
        return self.feed_value(t, value, state_class, last_reset)

    def feed_value(
        self,
        t: float,
        value: float | None,
        state_class: str | None = None,
        last_reset: float | None = None,
    ) -> list[Bucket]:
        """Like `feed`, with the value already converted to W / kWh (None = no valid value)."""
        closed = self.advance(t)
        if self.kind is Kind.POWER:
            self._value = value
            return closed
        self._state_class = state_class or self._state_class
        net = self._state_class == NET_COUNTER
        if value is not None and value < 0 and not net:
            # No valid value of a counter that only counts up (HA's statistics skip it for
            # `total_increasing`): counted, a glitch to -5 and back would add the whole counter
            # (a reset to -5, then an increase of 105). A net counter says `total`.
            value = None
        previous, cycle = self._value, self._cycle
        if net and last_reset is not None:
            self._cycle = last_reset
        if value is None or previous is None:
            # After a gap the first valid reading is a new baseline: what the counter gained
            # while it was not covered is not spread over time nobody measured.
            self._value, self._since = value, self._t
            return closed
        if net and last_reset is not None and last_reset != cycle:
            # A new cycle: the net counter started again from zero at `last_reset`.
            previous = 0.0
        if value == previous:
            self._value = value  # unchanged, or a new cycle that has counted nothing yet
            return closed
        increase = energy_increase(previous, value, counts_up=not net)
        ws = increase * WS_PER_KWH
        self._ws += ws
        if self._price is not None:
            self._cost = (self._cost or 0.0) + increase * self._price
        interval = self._t - self._since
        if interval > 0:
            self._see(ws / interval)
        self._value, self._since = value, self._t
        return closed

    def set_price(self, t: float, price: float | None) -> list[Bucket]:
        """The price per kWh changed at `t` (None = unknown); returns closed buckets."""
        closed = self.advance(t)
        self._price = price
        return closed

    def gap(self, t: float) -> list[Bucket]:
        """Nothing was measured from `accounted_until` to `t` (HA was not running)."""
        self._value = None
        return self.advance(t)

    def advance(self, t: float) -> list[Bucket]:
        """Account up to `t` and return every bucket that ended on the way.

        Time never runs backwards here: an earlier `t` (a clock step) is treated as now.
        """
        closed: list[Bucket] = []
        t = float(t)
        while t > self._t:
            end = self._open_start + TEN_MINUTES
            if self._value is None and self._is_empty() and t >= end:
                # A gap across whole buckets: jump instead of walking every empty bucket.
                self._open_start = ten_minute_start(t, self.tz)
                self._t = max(self._t, float(self._open_start))
                continue
            seg_end = min(t, float(end))
            self._integrate(seg_end - self._t)
            self._t = seg_end
            if seg_end < end:
                break
            if not self._is_empty():
                closed.append(self._snapshot(end))
            self._open_start = end
            self._reset_open()
        return closed

    def _integrate(self, dt: float) -> None:
        value = self._value
        if dt <= 0 or value is None:
            return
        self._covered += dt
        if self.kind is Kind.POWER:
            ws = value * dt
            self._ws += ws
            self._see(value)
            if self._price is not None:
                self._cost = (self._cost or 0.0) + ws / WS_PER_KWH * self._price

    def _see(self, watts: float) -> None:
        self._min = watts if self._min is None else min(self._min, watts)
        self._max = watts if self._max is None else max(self._max, watts)

    def _is_empty(self) -> bool:
        return self._covered == 0 and self._ws == 0 and self._cost is None

    def _snapshot(self, end: int) -> Bucket:
        return Bucket(
            start=self._open_start,
            seconds=end - self._open_start,
            kwh=self._ws / WS_PER_KWH,
            covered=self._covered,
            min_w=self._min,
            max_w=self._max,
            cost=self._cost,
        )

    def open_bucket(self) -> Bucket | None:
        """The open bucket as measured so far, or None when nothing was measured in it yet."""
        if self._is_empty():
            return None
        return self._snapshot(self._open_start + TEN_MINUTES)

    @property
    def on_grid(self) -> bool:
        """Whether the open bucket starts on this zone's 10-minute grid.

        One opened in another zone whose offset is apart by a part of 10 minutes (+05:45 and
        UTC) does not, and neither would every bucket after it: each opens where the last ended.
        """
        return ten_minute_start(self._open_start, self.tz) == self._open_start

    def measured_so_far(self) -> Bucket | None:
        """What the open bucket measured, as a bucket from its start to `accounted_until` (the
        time it holds, not its slot); None when it measured nothing."""
        if self._is_empty():
            return None
        return self._snapshot(max(self._open_start + 1, math.ceil(self._t)))

    def reopen(self, measured: Bucket | None) -> None:
        """Open the bucket holding `accounted_until` on this zone's grid, holding `measured`
        (what was measured in that slot so far, or None)."""
        self._open_start = ten_minute_start(self._t, self.tz)
        self._reset_open()
        if measured is not None:
            self._ws = measured.kwh * WS_PER_KWH
            self._covered = measured.covered
            self._min, self._max, self._cost = measured.min_w, measured.max_w, measured.cost

    def to_json(self) -> dict[str, Any]:
        """What must survive a clean restart: the open bucket and where accounting stopped."""
        return {
            "t": self._t,
            "open": self._open_start,
            "ws": self._ws,
            "covered": self._covered,
            "min": self._min,
            "max": self._max,
            "cost": self._cost,
        }

    @classmethod
    def from_json(cls, kind: Kind, tz: tzinfo, data: dict[str, Any]) -> MeterAccumulator:
        """Restore a saved accumulator; the value in effect is unknown until the next reading."""
        acc = cls(kind, tz, float(data["t"]))
        acc._open_start = int(data["open"])
        acc._ws = float(data["ws"])
        acc._covered = float(data["covered"])
        acc._min = _opt_float(data.get("min"))
        acc._max = _opt_float(data.get("max"))
        acc._cost = _opt_float(data.get("cost"))
        return acc


def _opt_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
