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
