"""Accounting (meter.py): state streams become exact 10-minute buckets."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.powerstats.core.accounting import (
    Bucket,
    Kind,
    MeterAccumulator,
    energy_increase,
    kind_of_unit,
    parse_last_reset,
    parse_price,
    parse_reading,
)
from custom_components.powerstats.core.rollup import History
from custom_components.powerstats.core.timegrid import ten_minute_start

from ..household import exact_bucket_kwh, household_events

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 11, 26, 0, 0, tzinfo=AMS).timestamp()


def feed_all(
    acc: MeterAccumulator, events: list[tuple[float, str, str]], end: float
) -> list[Bucket]:
    closed: list[Bucket] = []
    for t, state, unit in events:
        closed += acc.feed(t, state, unit)
    closed += acc.advance(end)
    return closed


def test_household_day_energy_equals_the_exact_step_integral_in_every_bucket() -> None:
    events = household_events(T0, 86400)
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    closed = feed_all(acc, [(e.t, e.state, "W") for e in events], T0 + 86400)
    starts = [int(T0) + i * 600 for i in range(144)]
    exact = exact_bucket_kwh(events, T0 + 86400, starts, 600)
    assert [b.start for b in closed] == starts
    for b in closed:
        assert round(b.kwh, 4) == round(exact[b.start], 4)
        assert b.covered == 600
    assert math.isclose(sum(b.kwh for b in closed), sum(exact.values()), rel_tol=1e-12)


def test_min_and_max_are_the_lowest_and_highest_power_in_effect_during_the_bucket() -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    closed = feed_all(
        acc, [(T0, "100", "W"), (T0 + 60, "2500", "W"), (T0 + 120, "40", "W")], T0 + 1200
    )
    assert (closed[0].min_w, closed[0].max_w) == (40, 2500)
    assert (closed[1].min_w, closed[1].max_w) == (40, 40)


def test_negative_power_integrates_to_negative_energy() -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    (bucket,) = feed_all(acc, [(T0, "-1200", "W")], T0 + 600)
    assert bucket.kwh == pytest.approx(-0.2)
    assert bucket.min_w == -1200


@pytest.mark.parametrize("bad", ["unavailable", "unknown", "abc", "nan", "inf", "-inf", ""])
def test_an_invalid_state_stops_coverage_until_a_valid_value_returns(bad: str) -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    (bucket,) = feed_all(
        acc, [(T0, "600", "W"), (T0 + 100, bad, "W"), (T0 + 400, "600", "W")], T0 + 600
    )
    assert bucket.covered == 300
    assert bucket.kwh == pytest.approx(600 * 300 / 3.6e6)
    assert bucket.mean_w == pytest.approx(600)


@pytest.mark.parametrize(
    ("state", "unit"),
    [("1e306", "W"), ("1e306", "kW"), ("-2e8", "W"), ("1e306", "kWh"), ("2e15", "Wh")],
)
def test_a_reading_beyond_any_meter_is_no_valid_value(state: str, unit: str) -> None:
    # Counted, 1e306 W for a second overflows the bucket's energy to infinity.
    kind = kind_of_unit(unit)
    assert kind is not None
    assert parse_reading(state, unit, kind) is None


def test_a_glitching_power_sensor_leaves_finite_buckets_covered_around_the_glitch() -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    (bucket,) = feed_all(
        acc, [(T0, "600", "W"), (T0 + 100, "1e306", "kW"), (T0 + 400, "600", "W")], T0 + 600
    )
    assert bucket.covered == 300
    assert bucket.kwh == pytest.approx(600 * 300 / 3.6e6)
    assert bucket.max_w == 600


def test_an_energy_counter_glitching_to_a_huge_reading_counts_only_real_increases() -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events = [(T0, "100", "kWh"), (T0 + 100, "1e306", "kWh"), (T0 + 200, "100.5", "kWh")]
    events.append((T0 + 300, "101", "kWh"))
    (bucket,) = feed_all(acc, events, T0 + 600)
    # The glitch is a gap: 100.5 is a new baseline, so only the last 0.5 kWh is counted.
    assert bucket.kwh == pytest.approx(0.5)
    assert all(math.isfinite(v) for v in (bucket.kwh, bucket.covered, bucket.max_w or 0))


def test_a_whole_unavailable_bucket_is_not_emitted_so_it_shows_as_a_gap() -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    closed = feed_all(acc, [(T0, "100", "W"), (T0 + 600, "unavailable", "W")], T0 + 86400)
    assert [b.start for b in closed] == [int(T0)]


def test_a_unit_change_from_w_to_kw_midway_is_converted() -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    (bucket,) = feed_all(acc, [(T0, "1000", "W"), (T0 + 300, "2", "kW")], T0 + 600)
    assert bucket.kwh == pytest.approx((1000 * 300 + 2000 * 300) / 3.6e6)
    assert bucket.max_w == 2000


@pytest.mark.parametrize("unit", [["W"], {"W": 1}, 1000, ("kWh",)])
def test_a_unit_attribute_that_is_no_text_is_no_unit(unit: object) -> None:
    # As a key it raised (unhashable), and the listener that raised left the last value counted.
    assert kind_of_unit(unit) is None
    assert parse_reading("5", unit, Kind.POWER) is None
    assert parse_reading("5", unit, Kind.ENERGY) is None
    assert parse_price("0.27", unit, "EUR") is None


def test_a_unit_of_the_other_kind_is_not_counted() -> None:
    assert parse_reading("5", "kWh", Kind.POWER) is None
    assert parse_reading("5", "W", Kind.ENERGY) is None
    assert parse_reading("5", "Wh", Kind.ENERGY) == 0.005
    assert kind_of_unit("kW") is Kind.POWER
    assert kind_of_unit("°C") is None


def test_energy_sensor_counts_increases_and_handles_a_meter_reset() -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events = [
        (T0, "100.0", "kWh"),
        (T0 + 100, "100.5", "kWh"),
        (T0 + 200, "0.2", "kWh"),  # reset: the counter restarted from 0
        (T0 + 300, "0.4", "kWh"),
    ]
    (bucket,) = feed_all(acc, events, T0 + 600)
    assert bucket.kwh == pytest.approx(0.5 + 0.2 + 0.2)
    assert bucket.max_w == pytest.approx(0.5 * 3.6e6 / 100)


def test_energy_sensor_small_dip_counts_as_a_decrease_like_ha_statistics() -> None:
    assert energy_increase(100.0, 99.0) == pytest.approx(-1.0)
    assert energy_increase(100.0, 89.0) == 89.0


def test_a_counter_that_counts_up_is_never_reset_from_zero_or_below() -> None:
    # 90 % of a negative reading is above it: every reading after -100 kWh looked like a reset.
    assert energy_increase(-100.0, -95.0) == pytest.approx(5.0)
    assert energy_increase(-100.0, -101.0) == pytest.approx(-1.0)
    assert energy_increase(0.0, -0.1) == pytest.approx(-0.1)


def test_a_net_counter_is_never_reset_by_a_drop() -> None:
    assert energy_increase(100.0, 89.0, counts_up=False) == pytest.approx(-11.0)
    assert energy_increase(0.5, 0.4, counts_up=False) == pytest.approx(-0.1)


NET = "total"
UP = "total_increasing"


def feed_net(
    acc: MeterAccumulator,
    events: Sequence[tuple[float, str, str | None, float | None]],
    end: float,
) -> list[Bucket]:
    closed: list[Bucket] = []
    for t, state, state_class, last_reset in events:
        closed += acc.feed(t, state, "kWh", state_class, last_reset)
    closed += acc.advance(end)
    return closed


@pytest.mark.parametrize(("first", "step"), [(-100.0, -0.1), (0.5, -0.1), (-0.5, 0.1)])
def test_a_net_counter_counts_every_decrease_as_energy_going_the_other_way(
    first: float, step: float
) -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events = [(T0 + 50 * i, f"{first + step * i:.1f}", NET, None) for i in range(11)]
    (bucket,) = feed_net(acc, events, T0 + 600)
    assert bucket.kwh == pytest.approx(10 * step)
    assert (bucket.min_w, bucket.max_w) == pytest.approx((step * 72000, step * 72000))


def test_a_net_counter_starts_again_from_zero_when_its_last_reset_changes() -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events = [
        (T0, "5.0", NET, T0 - 86400),
        (T0 + 100, "4.0", NET, T0 - 86400),  # exported 1 kWh
        (T0 + 200, "0.0", NET, T0 + 200),  # a new cycle, nothing counted in it yet
        (T0 + 300, "0.4", NET, T0 + 200),
        (T0 + 400, "0.3", NET, None),  # no last_reset: still the same cycle
        (T0 + 500, "0.2", NET, T0 + 500),  # a new cycle that counted 0.2 kWh already
    ]
    (bucket,) = feed_net(acc, events, T0 + 600)
    assert bucket.kwh == pytest.approx(-1.0 + 0.4 - 0.1 + 0.2)


def test_a_counter_that_counts_up_ignores_last_reset() -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events = [
        (T0, "5.0", "total_increasing", T0 - 86400),
        (T0 + 100, "5.5", "total_increasing", T0 + 100),
    ]
    (bucket,) = feed_net(acc, events, T0 + 600)
    assert bucket.kwh == pytest.approx(0.5)


def test_a_state_without_a_state_class_is_counted_as_the_last_one_reported() -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events = [
        (T0, "1.0", NET, None),
        (T0 + 100, "unavailable", None, None),
        (T0 + 200, "1.0", None, None),
        (T0 + 300, "0.5", None, None),  # no reset: the sensor said it is a net counter
    ]
    (bucket,) = feed_net(acc, events, T0 + 600)
    assert bucket.kwh == pytest.approx(-0.5)


def test_an_energy_sensor_that_never_reported_a_state_class_counts_up() -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    (bucket,) = feed_net(acc, [(T0, "1.0", None, None), (T0 + 100, "0.5", None, None)], T0 + 600)
    assert bucket.kwh == pytest.approx(0.5)  # a reset: restarted from 0


@pytest.mark.parametrize("state_class", [UP, None], ids=["total_increasing", "none"])
@pytest.mark.parametrize("glitch", ["-5", "-0.001", "-100"])
def test_a_counter_that_counts_up_below_zero_is_no_valid_value(
    glitch: str, state_class: str | None
) -> None:
    # Counted, the glitch was a reset to it and the return an increase of the whole counter.
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events: list[tuple[float, str, str | None, float | None]] = [
        (T0, "100", state_class, None),
        (T0 + 100, glitch, state_class, None),
        (T0 + 200, "100", None, None),  # read as the state class last reported
        (T0 + 300, "100.5", None, None),
    ]
    (bucket,) = feed_net(acc, events, T0 + 600)
    assert bucket.kwh == pytest.approx(0.5)  # 100 after the glitch is a new baseline
    assert bucket.covered == 100 + 400


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=30))
def test_a_net_counter_counts_its_last_reading_minus_its_first(values: list[float]) -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events = [(T0 + 10 * i, repr(v), NET, None) for i, v in enumerate(values)]
    closed = feed_net(acc, events, T0 + 600)
    assert math.fsum(b.kwh for b in closed) == pytest.approx(values[-1] - values[0], abs=1e-6)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-26T00:00:00+00:00", datetime(2026, 11, 26, tzinfo=UTC).timestamp()),
        ("2026-11-26T00:00:00", datetime(2026, 11, 26, tzinfo=AMS).timestamp()),
        ("yesterday", None),
        (None, None),
        (1234, None),
    ],
)
def test_last_reset_is_read_as_an_instant(value: object, expected: float | None) -> None:
    assert parse_last_reset(value, AMS) == expected


def test_energy_sensor_unit_change_from_wh_to_kwh_is_converted() -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events = [(T0, "1500", "Wh"), (T0 + 100, "1.6", "kWh")]
    (bucket,) = feed_all(acc, events, T0 + 600)
    assert bucket.kwh == pytest.approx(0.1)


def test_energy_gained_while_the_sensor_was_unavailable_is_not_invented() -> None:
    acc = MeterAccumulator(Kind.ENERGY, AMS, T0)
    events = [
        (T0, "10", "kWh"),
        (T0 + 100, "unavailable", "kWh"),
        (T0 + 200, "11", "kWh"),
        (T0 + 300, "11.1", "kWh"),
    ]
    (bucket,) = feed_all(acc, events, T0 + 600)
    assert bucket.kwh == pytest.approx(0.1)
    assert bucket.covered == 500


def test_cost_is_the_exact_integral_of_price_times_power() -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    closed = acc.set_price(T0, 0.30)
    closed += acc.feed(T0, "1000", "W")
    closed += acc.set_price(T0 + 300, 0.10)
    closed += acc.advance(T0 + 600)
    (bucket,) = closed
    assert bucket.cost == pytest.approx(1000 * 300 / 3.6e6 * 0.30 + 1000 * 300 / 3.6e6 * 0.10)


def test_an_unpriced_bucket_has_no_cost() -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    (bucket,) = feed_all(acc, [(T0, "1000", "W")], T0 + 600)
    assert bucket.cost is None


def test_time_while_ha_was_not_running_is_a_gap() -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    closed = acc.feed(T0, "600", "W")
    closed += acc.advance(T0 + 120)
    closed += acc.gap(T0 + 480)
    closed += acc.feed(T0 + 480, "600", "W")
    closed += acc.advance(T0 + 600)
    (bucket,) = closed
    assert bucket.covered == 240


def test_a_saved_accumulator_continues_its_open_bucket_after_a_clean_restart() -> None:
    acc = MeterAccumulator(Kind.POWER, AMS, T0)
    acc.feed(T0, "600", "W")
    acc.advance(T0 + 240)
    restored = MeterAccumulator.from_json(Kind.POWER, AMS, acc.to_json())
    closed = restored.gap(T0 + 240)  # restarted at once: nothing lost
    closed += restored.feed(T0 + 240, "600", "W")
    closed += restored.advance(T0 + 600)
    (bucket,) = closed
    assert bucket.covered == 600
    assert bucket.kwh == pytest.approx(0.1)


def test_buckets_follow_the_local_clock_with_a_45_minute_offset() -> None:
    kathmandu = ZoneInfo("Asia/Kathmandu")
    start = datetime(2026, 11, 26, 12, 0, tzinfo=kathmandu).timestamp()
    acc = MeterAccumulator(Kind.POWER, kathmandu, start)
    closed = feed_all(acc, [(start + 30, "100", "W")], start + 1200)
    assert [datetime.fromtimestamp(b.start, kathmandu).minute for b in closed] == [0, 10]


readings = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=7200),
        st.one_of(
            st.floats(min_value=-5000, max_value=20000, allow_nan=False).map(str),
            st.sampled_from(["unavailable", "unknown", "nan"]),
        ),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(readings, st.lists(st.floats(min_value=0, max_value=7200), max_size=10))
def test_energy_is_additive_however_the_clock_is_split(
    events: list[tuple[float, str]], ticks: list[float]
) -> None:
    events = sorted(events)
    plain = MeterAccumulator(Kind.POWER, UTC, T0)
    split = MeterAccumulator(Kind.POWER, UTC, T0)
    a: list[Bucket] = []
    b: list[Bucket] = []
    merged = sorted([(t, 0, s) for t, s in events] + [(t, 1, "") for t in ticks])
    for t, is_tick, state in merged:
        if is_tick:
            b += split.advance(T0 + t)
        else:
            a += plain.feed(T0 + t, state, "W")
            b += split.feed(T0 + t, state, "W")
    a += plain.advance(T0 + 7800)
    b += split.advance(T0 + 7800)
    assert [x.start for x in a] == [x.start for x in b]
    for x, y in zip(a, b, strict=True):
        assert x.kwh == pytest.approx(y.kwh, abs=1e-9)
        assert x.covered == pytest.approx(y.covered, abs=1e-6)
    exact = 0.0
    for i, (t, state) in enumerate(events):
        until = events[i + 1][0] if i + 1 < len(events) else 7800
        value = float(state) if state not in ("unavailable", "unknown") else math.nan
        if math.isfinite(value):
            exact += value * (until - t) / 3.6e6
    assert math.fsum(x.kwh for x in a) == pytest.approx(exact, abs=1e-6)


CLOCK_CHANGES = [
    (ZoneInfo(zone), datetime(*when, tzinfo=UTC).timestamp())
    for zone, when in [
        ("Europe/Amsterdam", (2026, 10, 24, 12)),  # fall back: 01:00 to 02:00 UTC twice locally
        ("Europe/Amsterdam", (2026, 3, 28, 12)),  # spring forward
        ("Australia/Lord_Howe", (2026, 4, 4, 0)),  # back by half an hour
        ("Australia/Lord_Howe", (2026, 10, 3, 0)),  # forward by half an hour
        ("Pacific/Chatham", (2026, 9, 26, 0)),  # +12:45 to +13:45 at 02:45 local
        ("Asia/Kathmandu", (2026, 11, 26, 0)),  # +05:45: the grid is off UTC's by 5 minutes
        ("America/St_Johns", (2026, 11, 1, 0)),  # -02:30 to -03:30
    ]
]
TWO_DAYS = 2 * 86400


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(CLOCK_CHANGES),
    st.floats(min_value=0, max_value=600),
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=TWO_DAYS),
            st.one_of(st.floats(-5000, 20000).map(str), st.just("unavailable")),
        ),
        max_size=60,
    ),
    st.lists(st.floats(min_value=0, max_value=TWO_DAYS), max_size=20),
)
def test_buckets_sum_to_the_exact_integral_across_clock_changes(
    change: tuple[ZoneInfo, float],
    offset: float,
    events: list[tuple[float, str]],
    ticks: list[float],
) -> None:
    tz, t0 = change[0], change[1] + offset
    acc = MeterAccumulator(Kind.POWER, tz, t0)
    closed: list[Bucket] = []
    exact_ws = covered = 0.0
    value, since = None, 0.0
    for t, is_tick, state in sorted([(t, 0, s) for t, s in events] + [(t, 1, "") for t in ticks]):
        if is_tick:
            closed += acc.advance(t0 + t)
            continue
        if value is not None:
            exact_ws, covered = exact_ws + value * (t - since), covered + t - since
        closed += acc.feed(t0 + t, state, "W")
        value, since = (None if state == "unavailable" else float(state)), t
    if value is not None:
        exact_ws, covered = exact_ws + value * (TWO_DAYS - since), covered + TWO_DAYS - since
    closed += acc.advance(t0 + TWO_DAYS)
    history = History(tz)
    for bucket in closed:
        assert (bucket.start, bucket.seconds) == (ten_minute_start(bucket.start, tz), 600)
        history.add(bucket)
    assert [b.start for b in closed] == sorted({b.start for b in closed})
    measured = [*closed, *filter(None, [acc.measured_so_far()])]
    # To the rounding of the instants (a Unix time is a float good to a quarter of a
    # microsecond, so each change is off by up to mWs), far below the files' 4 decimals of kWh.
    measured_kwh = math.fsum(b.kwh for b in measured)
    assert measured_kwh == pytest.approx(exact_ws / 3.6e6, rel=1e-12, abs=1e-6)
    assert math.fsum(b.covered for b in measured) == pytest.approx(covered, abs=1e-5)
    kwh = math.fsum(b.kwh for b in closed)
    for level in (history.hours, history.days):
        assert math.fsum(b.kwh for b in level.buckets()) == pytest.approx(kwh, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(readings)
def test_coverage_never_exceeds_the_bucket(events: list[tuple[float, str]]) -> None:
    acc = MeterAccumulator(Kind.POWER, UTC, T0)
    closed: list[Bucket] = []
    for t, state in sorted(events):
        closed += acc.feed(T0 + t, state, "W")
    closed += acc.advance(T0 + 7800)
    for bucket in closed:
        assert 0 < bucket.covered <= bucket.seconds
        assert 0 < bucket.coverage <= 1


def test_a_price_per_mwh_or_per_wh_is_converted_to_per_kwh() -> None:
    assert parse_price("95.5", "EUR/MWh") == pytest.approx(0.0955)
    assert parse_price("0.0003", "EUR/Wh") == pytest.approx(0.3)
    assert parse_price("0.27", "EUR/kWh") == 0.27
    assert parse_price("unknown", "EUR/kWh") is None
    assert parse_price("inf") is None


def test_a_price_beyond_any_tariff_is_unknown() -> None:
    assert parse_price("1e306") is None
    assert parse_price("2e9", "EUR/MWh") is None
    assert parse_price("-2e6") is None
    assert parse_price("1500", "IDR/kWh") == 1500


@pytest.mark.parametrize(
    ("state", "unit", "per_kwh"),
    [
        ("12.5", "ct/kWh", 0.125),
        ("9.55", "c/kWh", 0.0955),
        ("87", "öre/kWh", 0.87),
        ("24.1", "p/kWh", 0.241),
        ("9550", "ct/MWh", 0.0955),
        ("0.27", "EUR / kWh", 0.27),
        ("0.27", "EUR/kwh", 0.27),
        ("0.27", "€", 0.27),
        ("0.27", None, 0.27),
        ("0.27", "EUR/kWh", 0.27),
        ("0.27", "€/kWh", 0.27),
        ("1.4", "kr/kWh", 1.4),
    ],
)
def test_a_price_is_read_per_kwh_in_whole_currency(
    state: str, unit: str | None, per_kwh: float
) -> None:
    assert parse_price(state, unit, "EUR") == pytest.approx(per_kwh)


@pytest.mark.parametrize(
    "unit",
    ["USD/kWh", "sek/kWh", "°C", "kWh", "W", "%", "EUR/h", "EUR/m³", "/kWh"],
)
def test_a_price_in_another_currency_or_no_price_per_energy_is_unknown(unit: str) -> None:
    assert parse_price("0.27", unit, "EUR") is None
