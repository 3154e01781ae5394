"""The dashboard's periods: each tab names what it shows, and the words mean what HA's sensors mean.

Today runs from local midnight and This week from Monday 00:00, as the sensors "Energy today"
and "Energy this week" count; the day levels are rolling windows and are named so. Expectations
are computed here from the fixture rows, without the dashboard's code.
"""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.www.conftest import OpenDashboard
from tests.www.datagen import MeterSpec, fixed_now, write_dataset
from tests.www.test_dashboard import (
    MONDAY_ROW,
    chart_data,
    drawn_by_chartjs,
    show_tab,
    view_rows,
)

pytestmark = pytest.mark.browser

NOW = fixed_now()  # Wednesday 25 November 2026, 15:23 in Amsterdam
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# Sunday 25 October 2026, 15:23 in Amsterdam: the clocks went back an hour that night.
FALL_BACK_NOW = int(datetime(2026, 10, 25, 14, 23, 20, tzinfo=UTC).timestamp())


def chart_labels(page: Any) -> list[str]:
    drawn_by_chartjs(page)
    labels: list[str] = page.evaluate(
        """async () => {
             const { Chart } = await import(new URL('vendor/chart.min.js', document.baseURI));
             return Chart.getChart(document.querySelector('#ps-main canvas')).data.labels; }"""
    )
    return labels


def clock(start: int) -> tuple[int, int]:
    local = datetime.fromtimestamp(start, AMSTERDAM)
    return local.hour, local.minute


def test_today_runs_from_local_midnight_with_yesterday_dashed_at_the_same_clock_time(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard()
    expect(opened.page.locator("#ps-main")).to_have_attribute("data-compare", "on")
    today, yesterday = chart_data(opened.page)
    assert (today["label"], yesterday["label"]) == ("Today", "Yesterday")
    labels = chart_labels(opened.page)
    assert (len(labels), labels[0], labels[-1]) == (144, "00:00", "23:50")
    rows = view_rows(dataset, "house", "daily")
    assert clock(rows[0][0]) == (0, 0)
    assert today["data"] == [row[2] for row in rows] + [None] * (144 - len(rows))
    # The file holds all of yesterday, dashed under today at the same clock time.
    earlier = dataset.rows("house", "daily")[: -len(rows)]
    assert [clock(row[0]) for row in earlier] == [(i // 6, i % 6 * 10) for i in range(144)]
    assert yesterday["data"] == [row[2] for row in earlier]
    expect(opened.page.locator("#ps-main figcaption")).to_have_text(
        "Mean power per 10 minutes today, from midnight, yesterday dashed"
    )
    expect(opened.page.get_by_label("Compare with previous period")).to_be_hidden()


def test_a_daily_file_of_the_last_24_hours_dashes_yesterday_as_far_as_it_reaches(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    # What an older writer published: 144 closed 10-minute buckets and the open one.
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    document = dataset.documents["house/daily.json"]
    document["rows"] = document["rows"][-145:]
    dataset.rewrite("house/daily.json")
    opened = open_dashboard()
    expect(opened.page.locator("#ps-main")).to_have_attribute("data-compare", "on")
    today, yesterday = chart_data(opened.page)
    rows = view_rows(dataset, "house", "daily")
    assert today["data"][: len(rows)] == [row[2] for row in rows]
    earlier = {clock(row[0]): row[2] for row in document["rows"][: -len(rows)]}
    assert yesterday["data"] == [earlier.get((i // 6, i % 6 * 10)) for i in range(144)]
    assert yesterday["data"][91] is None  # 15:10 yesterday is older than the file
    assert yesterday["data"][92] is not None  # 15:20


def test_this_week_runs_from_monday_midnight_like_the_sensor_energy_this_week(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard(url="#meter=house&level=weekly")
    this_week, last_week = chart_data(opened.page)
    labels = chart_labels(opened.page)
    assert (len(labels), labels[0], labels[-1]) == (168, "Mon 00:00", "Sun 23:00")
    rows = dataset.rows("house", "weekly")
    assert this_week["data"][: 168 - MONDAY_ROW] == [row[2] for row in rows[MONDAY_ROW:]]
    # Last week from Wednesday 16:00 on is in the file (the last 7 days), dashed on its weekday.
    wednesday_16 = 2 * 24 + 16
    assert last_week["label"] == "Last week"
    assert last_week["data"][:wednesday_16] == [None] * wednesday_16
    assert last_week["data"][wednesday_16:] == [row[2] for row in rows[:MONDAY_ROW]]
    energy = opened.page.locator("[data-stat='energy']")
    expect(energy.locator(".ps-card-label")).to_have_text("Energy this week")
    expect(energy.locator(".ps-card-sub")).to_have_text("since midnight on Monday")
    shown = float(energy.locator(".ps-card-value").get_attribute("data-value") or "nan")
    assert math.isclose(shown, math.fsum(row[1] for row in rows[MONDAY_ROW:]), rel_tol=1e-9)


@pytest.mark.parametrize(
    ("level", "label", "sub"),
    [
        ("daily", "Energy today", "since midnight"),
        ("monthly", "Energy, last 30 days", "30 days up to today"),
        ("yearly", "Energy, last 365 days", "365 days up to today"),
    ],
)
def test_each_card_names_the_period_it_counts(
    data_root: Path, open_dashboard: OpenDashboard, level: str, label: str, sub: str
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard(url=f"#meter=house&level={level}")
    energy = opened.page.locator("[data-stat='energy']")
    expect(energy.locator(".ps-card-label")).to_have_text(label)
    expect(energy.locator(".ps-card-sub")).to_have_text(sub)
    suffix = label.removeprefix("Energy")
    expect(opened.page.locator("[data-stat='mean'] .ps-card-label")).to_have_text(
        f"Mean power{suffix}"
    )
    cost = opened.page.locator("[data-stat='cost']")
    expect(cost.locator(".ps-card-label")).to_have_text(f"Cost{suffix}")
    expect(cost.locator(".ps-card-sub")).to_have_text(sub)  # every bucket has a known price


def test_the_cost_card_says_how_much_of_the_time_had_a_known_price(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    # The first 300 days were rebuilt from the recorder, which keeps no price: no cost.
    dataset = write_dataset(data_root, [MeterSpec(unpriced={"yearly": range(300)})], NOW)
    rows = dataset.rows("house", "yearly")
    ends = [row[0] for row in rows[1:]] + [rows[-1][0] + 86400]  # days of 23 and 25 hours too
    covered = [row[5] * (end - row[0]) for row, end in zip(rows, ends, strict=True)]
    priced_share = math.fsum(covered[300:]) / math.fsum(covered)
    opened = open_dashboard(url="#meter=house&level=yearly")
    cost = opened.page.locator("[data-stat='cost']")
    expect(cost.locator(".ps-card-sub")).to_have_text(
        f"365 days up to today; price known for {round(priced_share * 100)}% of the covered time"
    )
    shown = float(cost.locator(".ps-card-value").get_attribute("data-value") or "nan")
    assert math.isclose(shown, math.fsum(row[6] for row in rows[300:]), rel_tol=1e-9)


def test_the_cost_card_of_a_period_without_any_price_says_so(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec(unpriced={"monthly": range(30)})], NOW)
    opened = open_dashboard(url="#meter=house&level=monthly")
    cost = opened.page.locator("[data-stat='cost']")
    expect(cost.locator(".ps-card-value")).to_have_text("—")
    expect(cost.locator(".ps-card-sub")).to_have_text("30 days up to today; no price known for it")


def test_costs_are_shown_in_the_currency_their_file_names(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    # Home Assistant's currency changed: the manifest names the new one, the monthly file (written
    # hourly) still the one its costs were summed in.
    dataset = write_dataset(data_root, [MeterSpec(currency="EUR")], NOW)
    dataset.documents["house/monthly.json"]["currency"] = "USD"
    dataset.rewrite("house/monthly.json")
    opened = open_dashboard(url="#meter=house&level=monthly")
    expect(opened.page.locator("[data-stat='cost'] .ps-card-value")).to_have_text(
        re.compile(r"^US\$\d+\.\d\d$")
    )
    opened.page.get_by_text("Show the data as a table").click()
    costs = opened.page.locator("#ps-main tbody tr td:last-child")
    expect(costs).to_have_count(30)
    assert all(text.startswith("US$") for text in costs.all_text_contents())
    # Today's file names the manifest's currency.
    show_tab(opened.page, "daily")
    expect(opened.page.locator("[data-stat='cost'] .ps-card-value")).to_have_text(
        re.compile(r"^€\d+\.\d\d$")
    )


def test_a_day_the_clocks_go_back_has_all_its_150_ten_minute_buckets(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], FALL_BACK_NOW)
    opened = open_dashboard(now=FALL_BACK_NOW)
    today, _ = chart_data(opened.page)
    labels = chart_labels(opened.page)
    assert len(labels) == 150
    assert labels.count("02:50") == 2  # the hour from 02:00 happened twice
    rows = view_rows(dataset, "house", "daily")
    assert today["data"][: len(rows)] == [row[2] for row in rows]
    show_tab(opened.page, "weekly")
    assert len(chart_labels(opened.page)) == 169  # the week holding that day


def test_the_hour_repeated_when_the_clocks_go_back_is_told_apart_in_the_table_and_tooltips(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], FALL_BACK_NOW)
    opened = open_dashboard(now=FALL_BACK_NOW)
    rows = view_rows(dataset, "house", "daily")
    # The hour from 02:00 summer time (CEST), then again in winter time (CET).
    repeated = {
        i: "CEST" if datetime.fromtimestamp(row[0], AMSTERDAM).dst() else "CET"
        for i, row in enumerate(rows)
        if clock(row[0])[0] == 2
    }
    assert sorted(repeated.values()) == ["CEST"] * 6 + ["CET"] * 6
    opened.page.get_by_text("Show the data as a table").click()
    names = opened.page.locator("#ps-main tbody th")
    expect(names).to_have_count(len(rows))  # the table is filled once it is opened
    times = names.all_inner_texts()
    assert len(set(times)) == len(times), times
    for i, time in enumerate(times):
        zone = repeated.get(i)
        assert time.endswith(f" {zone}") if zone else time[-1].isdigit(), time
    drawn_by_chartjs(opened.page)
    titles: list[str] = opened.page.evaluate(
        """async (indices) => {
             const { Chart } = await import(new URL('vendor/chart.min.js', document.baseURI));
             const chart = Chart.getChart(document.querySelector('#ps-main canvas'));
             const { title } = chart.options.plugins.tooltip.callbacks;
             return indices.map((i) => title([{ dataIndex: i }])); }""",
        sorted(repeated),
    )
    assert titles == [times[i] for i in sorted(repeated)]


def axis_ticks(page: Any, field: str = "label") -> list[Any]:
    """One field of each tick of the main chart's x axis, left to right: its `label`, or its
    `value` (the index of its bucket)."""
    drawn_by_chartjs(page)
    ticks: list[Any] = page.evaluate(
        """async (field) => {
             const { Chart } = await import(new URL('vendor/chart.min.js', document.baseURI));
             return Chart.getChart(document.querySelector('#ps-main canvas')).scales.x.ticks
               .map((tick) => tick[field]); }""",
        field,
    )
    return ticks


def axis_labels(page: Any) -> list[str]:
    """The labels the main chart's x axis shows, left to right."""
    return axis_ticks(page)


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
WEEKDAY = "(" + "|".join(WEEKDAYS) + ")"


def week_hour(label: str) -> int:
    """Hours since Monday 00:00 of the fixture's week (23 November 2026) of an axis label of
    This week: a whole hour ("Wed 12:00") or a day named at its midnight ("Wed 25 Nov")."""
    if hour := re.fullmatch(WEEKDAY + r" (\d\d):00", label):
        return WEEKDAYS.index(hour[1]) * 24 + int(hour[2])
    day = re.fullmatch(WEEKDAY + r" (\d+) Nov", label)
    assert day, f"{label!r} is neither a whole hour nor a day"
    assert WEEKDAYS.index(day[1]) == int(day[2]) - 23, f"{label!r}: the wrong weekday"
    return (int(day[2]) - 23) * 24


def test_the_time_axes_are_labelled_on_round_local_times_at_even_steps(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard()
    # Today: whole hours from midnight, an even number of hours apart.
    today = axis_labels(opened.page)
    assert all(re.fullmatch(r"\d\d:00", label) for label in today), today
    hours = [int(label[:2]) for label in today]
    steps = {b - a for a, b in itertools.pairwise(hours)}
    assert hours[0] == 0
    assert len(steps) == 1
    assert 24 % steps.pop() == 0
    assert len(hours) >= 6
    # This week: from Monday midnight, whole hours an even number apart, or the days by name.
    show_tab(opened.page, "weekly")
    week = [week_hour(label) for label in axis_labels(opened.page)]
    steps = {b - a for a, b in itertools.pairwise(week)}
    assert week[0] == 0
    assert len(steps) == 1
    assert 24 % steps.pop() == 0 or steps == {24}
    assert len(week) >= 7
    # Last 30 days: every day, every other date or every Monday, never a stray one.
    show_tab(opened.page, "monthly")
    days = [datetime.strptime(f"{label} 2026", "%d %b %Y") for label in axis_labels(opened.page)]
    assert len(days) >= 4
    assert (
        all(day.day % 2 == 1 for day in days)
        or all(day.weekday() == 0 for day in days)
        or {(b - a).days for a, b in itertools.pairwise(days)} == {1}
    )
    # Last 365 days: the first of the months.
    show_tab(opened.page, "yearly")
    months = axis_labels(opened.page)
    assert len(months) >= 6
    assert all(re.fullmatch(r"1 [A-Z][a-z]{2,3}", label) for label in months)


def test_a_narrow_screen_labels_fewer_round_times_not_odd_ones(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard(width=360)
    today = axis_labels(opened.page)
    assert 2 <= len(today) < 6
    assert all(label.endswith(":00") for label in today)
    show_tab(opened.page, "weekly")
    week = [week_hour(label) for label in axis_labels(opened.page)]
    assert 2 <= len(week) < 7
    assert all(hour % 24 == 0 for hour in week)
    show_tab(opened.page, "yearly")
    months = axis_labels(opened.page)
    assert 2 <= len(months) < 6
    assert all(label.startswith("1 ") for label in months)


@pytest.mark.parametrize("width", [800, 1280])
def test_the_day_the_clocks_go_back_is_labelled_on_whole_hours_none_crowding_the_next(
    data_root: Path, open_dashboard: OpenDashboard, width: int
) -> None:
    write_dataset(data_root, [MeterSpec()], FALL_BACK_NOW)
    opened = open_dashboard(now=FALL_BACK_NOW, width=width)
    labels = axis_labels(opened.page)
    assert labels[0] == "00:00"
    assert all(label.endswith(":00") for label in labels)
    # Where the labels are, in 10-minute buckets from midnight: the repeated hour from 02:00
    # may be labelled once or twice, but never closer to its neighbours than the others are.
    buckets: list[int] = axis_ticks(opened.page, "value")
    gaps = [b - a for a, b in itertools.pairwise(buckets)]
    usual = max(set(gaps), key=gaps.count)
    assert min(gaps) >= 0.75 * usual, labels


def test_a_zone_three_quarters_of_an_hour_off_utc_is_labelled_on_its_own_whole_hours(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    # Nepal is 5:45 ahead of UTC: its whole hours are at :15 past the hour in UTC.
    write_dataset(data_root, [MeterSpec(timezone="Asia/Kathmandu")], NOW)
    opened = open_dashboard()
    labels = axis_labels(opened.page)
    assert labels[0] == "00:00"
    assert len(labels) >= 6
    assert all(label.endswith(":00") for label in labels), labels


@pytest.mark.parametrize(
    ("friday", "hours", "cut"),
    [
        # On Sunday at 02:00 the clock goes to 02:30 (+10:30 to +11:00).
        ((2026, 10, 2), 168, "Sun 02:30"),
        # On Sunday at 02:00 the clock goes back to 01:30 (+11:00 to +10:30).
        ((2027, 4, 2), 169, "Sun 01:30"),
    ],
)
def test_a_week_with_a_change_of_half_an_hour_keeps_its_hours_to_come_on_whole_hours(
    data_root: Path,
    open_dashboard: OpenDashboard,
    friday: tuple[int, int, int],
    hours: int,
    cut: str,
) -> None:
    # A Friday on Lord Howe Island, the clock changing by half an hour that Sunday: the hour
    # from the change lasts 30 minutes, as the integration cuts it, and every hour still to
    # come after it starts on the hour.
    zone = ZoneInfo("Australia/Lord_Howe")
    now = int(datetime(*friday, 15, 23, tzinfo=zone).timestamp())
    write_dataset(data_root, [MeterSpec(timezone=zone.key)], now)
    opened = open_dashboard(url="#meter=house&level=weekly", now=now)
    labels = chart_labels(opened.page)
    assert (len(labels), labels[0], labels[-1]) == (hours, "Mon 00:00", "Sun 23:00")
    assert [label for label in labels if not label.endswith(":00")] == [cut]


def test_levels_the_source_does_not_publish_get_no_tab_and_a_note_says_why(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    # What GitHub Pages holds by default: daily totals only.
    write_dataset(data_root, [MeterSpec(levels=("monthly", "yearly"))], NOW)
    opened = open_dashboard()
    expect(opened.page.get_by_role("tab")).to_have_text(["Last 30 days", "Last 365 days"])
    expect(opened.page.locator(".ps-levels-note")).to_have_text(
        "Today and This week are not shown because this source does not publish them: "
        "10-minute and hourly data show when someone is home, so PowerStats keeps them private "
        "unless its owner publishes them."
    )


def test_a_single_missing_day_level_is_named_without_the_privacy_reason(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec(levels=("daily", "weekly", "yearly"))], NOW)
    opened = open_dashboard()
    expect(opened.page.locator(".ps-levels-note")).to_have_text(
        "Last 30 days is not shown because this source does not publish it."
    )


def test_a_source_publishing_every_level_shows_no_note_about_missing_ones(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard()
    expect(opened.page.get_by_role("tab")).to_have_count(4)
    expect(opened.page.locator(".ps-levels-note")).to_be_hidden()


def test_the_averages_chart_names_each_bar_as_its_tab(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    dataset = write_dataset(data_root, [MeterSpec()], NOW)
    opened = open_dashboard()
    opened.page.wait_for_selector(".ps[data-others='ready']")
    averages = opened.page.locator("#ps-averages canvas")
    expect(averages).to_have_attribute(
        "aria-label", re.compile(r"Today: .*; This week: .*; Last 30 days: .*; Last 365 days: ")
    )
    # Today's bar is today's energy per covered day, not the last 24 hours'.
    rows = view_rows(dataset, "house", "daily")
    covered = math.fsum(
        row[5] * ((rows[i + 1][0] if i + 1 < len(rows) else row[0] + 600) - row[0])
        for i, row in enumerate(rows)
        if row[1] is not None
    )
    per_day = math.fsum(row[1] for row in rows if row[1] is not None) / covered * 86400
    drawn_by_chartjs(opened.page, "#ps-averages")
    bars = opened.page.evaluate(
        """async () => {
             const { Chart } = await import(new URL('vendor/chart.min.js', document.baseURI));
             return Chart.getChart(document.querySelector('#ps-averages canvas')).data
               .datasets[0].data; }"""
    )
    assert math.isclose(bars[0], per_day, rel_tol=1e-9)


def test_the_bucket_being_measured_is_neither_missing_time_nor_a_gap(
    data_root: Path, open_dashboard: OpenDashboard
) -> None:
    # 02:00, as the writer renders at a boundary: twelve buckets closed today, the one from
    # 01:00 without data, and the one from 02:00 open (coverage 0, still being measured).
    now = int(datetime(2026, 11, 25, 2, 0, tzinfo=AMSTERDAM).timestamp())
    dataset = write_dataset(data_root, [MeterSpec(gaps={"daily": [150]})], now)
    assert clock(dataset.rows("house", "daily")[150][0]) == (1, 0)
    opened = open_dashboard(now=now + 100)
    expect(opened.page.locator("[data-stat='mean'] .ps-card-sub")).to_have_text(
        f"over the covered {round(100 * 11 / 12)}% of the time"
    )
    expect(opened.page.locator("#ps-main canvas")).to_have_attribute(
        "aria-label", re.compile(r"; 1 bucket without data\.")
    )


# Sunday 29 March 2026, 23:50 in Amsterdam: the clocks went forward from 02:00 to 03:00.
SPRING_FORWARD_NOW = int(datetime(2026, 3, 29, 21, 50, tzinfo=UTC).timestamp())


@pytest.mark.parametrize("width", [390, 500, 800, 1280])
def test_the_day_the_clocks_go_forward_is_labelled_at_every_step_of_the_clock_from_midnight(
    data_root: Path, open_dashboard: OpenDashboard, width: int
) -> None:
    write_dataset(data_root, [MeterSpec()], SPRING_FORWARD_NOW)
    opened = open_dashboard(now=SPRING_FORWARD_NOW, width=width)
    labels = axis_labels(opened.page)
    assert all(re.fullmatch(r"\d\d:00", label) for label in labels), labels
    hours = [int(label[:2]) for label in labels]
    step = min(b - a for a, b in itertools.pairwise(hours))
    # Every hour the step names, but the one that did not happen: 03:00 comes after 00:00.
    assert hours == [hour for hour in range(0, 24, step) if hour != 2]
    # Nor does a label crowd the one before it (03:00 is two real hours after 00:00).
    buckets: list[int] = axis_ticks(opened.page, "value")
    gaps = [b - a for a, b in itertools.pairwise(buckets)]
    usual = max(set(gaps), key=gaps.count)
    assert min(gaps) >= 0.75 * usual, labels


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/Santiago", (2026, 9, 6)),
        ("Africa/Cairo", (2026, 4, 24)),
        ("America/Havana", (2026, 3, 8)),
        ("Asia/Beirut", (2026, 3, 29)),
    ],
)
def test_a_day_starting_at_one_because_the_clocks_skip_midnight_still_gets_its_label(
    data_root: Path, open_dashboard: OpenDashboard, zone: str, day: tuple[int, int, int]
) -> None:
    tz = ZoneInfo(zone)
    now = int(datetime(*day, 12, 0, tzinfo=tz).timestamp())
    first = datetime.fromtimestamp(datetime(*day, tzinfo=tz).timestamp(), tz)
    assert (first.hour, first.minute) == (1, 0)  # that day has no 00:00
    write_dataset(data_root, [MeterSpec(timezone=zone)], now)
    # This week at 700 px names the days.
    opened = open_dashboard(now=now, width=700, url="#meter=house&level=weekly")
    assert [label.split()[0] for label in axis_labels(opened.page)] == WEEKDAYS
