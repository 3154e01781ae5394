"""The dashboard's formatting room (www/js/format.js), run in the page as the dashboard runs it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.www.conftest import OpenDashboard

pytestmark = pytest.mark.browser

# What format.js writes for each value, in the locale given (in the browser).
FORMAT = """async ([name, values, locale]) => {
  const format = await import(new URL('js/format.js', document.baseURI));
  return values.map((value) => format[name](value, locale));
}"""


def formatted(open_dashboard: OpenDashboard, name: str, values: list[float], locale: Any) -> Any:
    # No data is written: the page stops at its error, and its modules are what is wanted.
    opened = open_dashboard(state="error")
    return opened.page.evaluate(FORMAT, [name, values, locale])


def test_power_takes_its_unit_from_the_value_as_it_is_shown(
    open_dashboard: OpenDashboard,
) -> None:
    values = [9.94, 9.96, 999.4, 999.6, -999.6, 9994.0, 9999.6, 12345.0]
    assert formatted(open_dashboard, "formatPower", values, {"numbers": "en"}) == [
        "9.9 W",
        "10 W",
        "999 W",
        "1 kW",
        "-1 kW",
        "9.99 kW",
        "10 kW",
        "12.3 kW",
    ]


# localClocks of some increasing seconds, and where it disagrees with localClock asked second by
# second.
CLOCKS = """async ([starts, timeZone]) => {
  const format = await import(new URL('js/format.js', document.baseURI));
  const clocks = format.localClocks(starts, timeZone);
  const wrong = [];
  starts.forEach((unix, i) => {
    const asked = format.localClock(unix, timeZone);
    const clock = clocks[i];
    if (clock.day !== asked.day || clock.minute !== asked.minute) wrong.push([unix, clock, asked]);
  });
  return { count: clocks.length, wrong };
}"""

DAY = 86400


@pytest.mark.parametrize(
    "time_zone",
    [
        "Europe/Amsterdam",
        "Australia/Lord_Howe",  # half an hour's change
        "America/Santiago",  # its clocks skip midnight
        "Africa/Casablanca",  # an hour back for Ramadan, a month each year
        "Pacific/Apia",  # skipped 30 December 2011
        "America/St_Johns",
        "UTC",
    ],
)
def test_clocks_of_many_seconds_are_those_intl_tells_one_by_one(
    open_dashboard: OpenDashboard, time_zone: str
) -> None:
    opened = open_dashboard(state="error")
    start = 1_293_840_000  # 2011-01-01T00:00:00Z
    grids = [
        [start + i * DAY for i in range(3 * 365)],  # days
        [start + i * 3600 for i in range(2 * 365 * 24)],  # hours
        [start + 86 * DAY + i * 600 for i in range(7 * 144)],  # 10 minutes, a week in March
        # Uneven: gaps from a second to three weeks, and odd seconds.
        [start + sum(1 + (k * 7919) % (21 * DAY) for k in range(i)) for i in range(200)],
        [start + 17],
        [],
    ]
    for starts in grids:
        answer = opened.page.evaluate(CLOCKS, [starts, time_zone])
        assert answer == {"count": len(starts), "wrong": []}
