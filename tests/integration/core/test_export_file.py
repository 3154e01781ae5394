"""Export and import files (core/export_file.py): lossless round trips and strict checking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.powerstats.core.accounting import Bucket, Kind, MeterAccumulator
from custom_components.powerstats.core.export_file import (
    COLUMNS,
    MAX_IMPORT_BYTES,
    ExportedBuckets,
    ExportFileError,
    parse,
    select,
    to_csv,
    to_json,
)
from custom_components.powerstats.core.rollup import History

AMS = ZoneInfo("Europe/Amsterdam")
ZONE = "Europe/Amsterdam"
START = int(datetime(2026, 10, 24, tzinfo=AMS).timestamp())  # the next day is 25 hours long
EXPORTED = "2026-11-27T12:00:00+01:00"
CURRENCY = "EUR"


def recorded_history(days: int = 3) -> History:
    """A history as live tracking builds it: an odd load so floats have long fractions."""
    acc = MeterAccumulator(Kind.POWER, AMS, START)
    history = History(AMS)
    t = START
    watts = 123.456789
    while t < START + days * 86400:
        for bucket in acc.feed(t, repr(watts), "W"):
            history.add(bucket)
        t += 97
        watts = (watts * 1.7) % 3000 + 0.1
    for bucket in acc.advance(START + days * 86400):
        history.add(bucket)
    return history


def export(history: History, levels: tuple[str, ...] = ("10min", "hour", "day")) -> ExportedBuckets:
    return select(
        history,
        meter_id="house",
        kind="power",
        timezone=ZONE,
        currency=CURRENCY,
        levels=levels,  # type: ignore[arg-type]
        begin=0,
        end=2**40,
    )


@pytest.mark.parametrize("write", [to_json, to_csv])
def test_exporting_and_importing_reproduces_every_bucket_exactly(write: object) -> None:
    transfer = export(recorded_history())
    data = write(transfer, EXPORTED)  # type: ignore[operator]
    back = parse(data, AMS, ZONE, currency=CURRENCY)
    assert back == transfer
    # 72 hours from START; the 25-hour day makes the third day one hour short.
    assert back.count == 72 * 6 + 72 + 3


def test_an_export_of_a_range_holds_only_buckets_starting_in_it() -> None:
    history = recorded_history()
    transfer = select(
        history,
        meter_id="house",
        kind="power",
        timezone=ZONE,
        currency=CURRENCY,
        levels=("hour",),
        begin=START + 3600,
        end=START + 3 * 3600,
    )
    assert [b.start for b in transfer.hours] == [START + 3600, START + 7200]
    assert transfer.ten_minutes == transfer.days == ()


floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=500),
            floats,
            # Covered time is none or at least a microsecond: a meter's clock reads no finer,
            # and a row whose energy over its covered time is an infinite power is refused.
            st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=600)),
            st.one_of(st.none(), floats),
            st.floats(min_value=0, max_value=1),
            st.floats(min_value=0, max_value=5000),
        ),
        unique_by=lambda t: t[0],
        max_size=40,
    ),
    st.sampled_from([to_json, to_csv]),
)
def test_any_ten_minute_buckets_round_trip_bit_for_bit(
    raw: list[tuple[int, float, float, float | None, float, float]], write: object
) -> None:
    buckets = tuple(
        Bucket(
            start=START + i * 600,
            seconds=600,
            kwh=kwh,
            covered=covered,
            min_w=low,
            max_w=low + spread,
            cost=cost,
            backfill=covered * share,
        )
        for i, kwh, covered, cost, share, spread in sorted(raw)
        for low in [kwh / 7]
    )
    transfer = ExportedBuckets("house", "power", ZONE, CURRENCY, ten_minutes=buckets)
    assert parse(write(transfer, EXPORTED), AMS, ZONE, currency=CURRENCY) == transfer  # type: ignore[operator]


def refused(data: bytes | str) -> ExportFileError:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(ExportFileError) as caught:
        parse(raw, AMS, ZONE, currency=CURRENCY)
    return caught.value


def good_csv() -> str:
    return to_csv(export(recorded_history(1)), EXPORTED).decode()


def good_json() -> str:
    return to_json(export(recorded_history(1)), EXPORTED).decode()


def test_a_csv_file_cut_at_a_line_boundary_is_refused_as_truncated() -> None:
    lines = good_csv().splitlines(keepends=True)
    assert refused("".join(lines[: len(lines) // 2])).key == "import_truncated"


def test_a_csv_file_cut_in_the_middle_of_a_number_is_refused_as_truncated() -> None:
    text = good_csv()
    assert refused(text[: len(text) - 40]).key == "import_truncated"


def test_a_csv_file_missing_rows_against_its_count_is_refused_as_truncated() -> None:
    lines = good_csv().splitlines(keepends=True)
    error = refused("".join(lines[:10] + lines[12:]))
    assert error.key == "import_truncated"
    assert "holds" in error.placeholders["reason"]


def test_a_truncated_json_file_is_refused_as_truncated() -> None:
    text = good_json()
    assert refused(text[: len(text) * 2 // 3]).key == "import_truncated"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "{]}",
        '{"format": "powerstats/1", "columns": [], "rows": []}',
        "\x00\xff",
        '["not", "an", "object"]',
    ],
)
def test_a_file_that_is_not_an_export_is_refused_as_malformed(text: str) -> None:
    assert refused(text).key == "import_malformed"


def test_a_file_not_in_utf8_is_refused_as_malformed() -> None:
    assert refused(b"# format: \xff\xfe\n").key == "import_malformed"


def test_a_file_with_energy_in_watt_hours_is_refused_as_the_wrong_unit() -> None:
    text = good_csv().replace("level,start,seconds,kwh,", "level,start,seconds,wh,", 1)
    error = refused(text)
    assert error.key == "import_wrong_unit"
    assert error.placeholders["columns"] == "wh"


def test_a_json_file_with_power_in_kilowatts_is_refused_as_the_wrong_unit() -> None:
    text = good_json().replace('"min_w","max_w"', '"min_kw","max_kw"', 1)
    assert refused(text).key == "import_wrong_unit"


def test_a_file_from_another_time_zone_is_refused() -> None:
    text = good_json().replace('"timezone":"Europe/Amsterdam"', '"timezone":"Europe/London"', 1)
    error = refused(text)
    assert error.key == "import_wrong_timezone"
    assert error.placeholders == {"file_timezone": "Europe/London", "timezone": ZONE}


def priced(currency: str | None, cost: float | None = 0.03) -> ExportedBuckets:
    bucket = Bucket(START, 600, 0.1, 600, 600.0, 600.0, cost=cost)
    return ExportedBuckets("house", "power", ZONE, currency, ten_minutes=(bucket,))


@pytest.mark.parametrize("write", [to_json, to_csv])
def test_costs_in_another_currency_are_refused(write: object) -> None:
    data = write(priced("USD"), EXPORTED)  # type: ignore[operator]
    with pytest.raises(ExportFileError) as caught:
        parse(data, AMS, ZONE, currency="EUR")
    assert caught.value.key == "import_wrong_currency"
    assert caught.value.placeholders == {"file_currency": "USD", "currency": "EUR"}


@pytest.mark.parametrize("write", [to_json, to_csv])
def test_a_file_without_costs_or_naming_no_currency_imports_in_any_currency(
    write: object,
) -> None:
    no_costs = priced("USD", cost=None)
    assert parse(write(no_costs, EXPORTED), AMS, ZONE, currency="EUR") == no_costs  # type: ignore[operator]
    # Exports made before the currency was written down.
    older = priced(None)
    assert parse(write(older, EXPORTED), AMS, ZONE, currency="EUR") == older  # type: ignore[operator]


def test_a_currency_that_is_no_short_text_is_refused() -> None:
    text = good_json().replace('"currency":"EUR"', '"currency":42', 1)
    error = refused(text)
    assert error.key == "import_malformed"
    assert "currency" in str(error)


def json_with_row(row: str) -> str:
    head = good_json().split('"rows":[', 1)[0]
    return head + '"rows":[\n' + row + "\n]}\n"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (f'["10min",{START + 60},600,0.1,600,1,2,null,0]', "not the start"),
        (f'["hour",{START},600,0.1,600,1,2,null,0]', "lasts 3600"),
        (f'["day",{START + 86400},86400,0.1,600,1,2,null,0]', "lasts 90000"),
        (f'["10min",{START},600,0.1,601,1,2,null,0]', "covered_s"),
        (f'["10min",{START},600,0.1,300,1,2,null,301]', "backfill_s"),
        (f'["10min",{START},600,0.1,600,5,2,null,0]', "min_w"),
        (f'["10min",{START},600,0.1,600,null,2,null,0]', "min_w"),
        (f'["10min",{START},600,"0.1",600,1,2,null,0]', "kwh is not a number"),
        (f'["10min",{START},600,true,600,1,2,null,0]', "kwh is not a number"),
        (f'["10min",{START},600,NaN,600,1,2,null,0]', "NaN"),
        (f'["10min",{START}.5,600,0.1,600,1,2,null,0]', "whole number"),
        (f'["week",{START},600,0.1,600,1,2,null,0]', "unknown level"),
        (f'["10min",{START},600,0.1,600,1,2,null]', "cells"),
        # Numbers a meter never measures would overflow the year's sums to infinity.
        (f'["10min",{START},600,1e306,600,1,2,null,0]', "kwh is larger than 1e+15"),
        (f'["10min",{START},600,0.1,600,1,2e300,null,0]', "max_w is larger than 1e+15"),
        (f'["10min",{START},600,0.1,600,1,2,-1e300,0]', "cost is larger than 1e+15"),
        (f'["10min",{START},600,1e12,1e-300,1,2,null,0]', "no finite power"),
        ('["10min",100000000000000,600,0.1,600,1,2,null,0]', "no time on the calendar"),
        ('["day",-1000000000000,86400,0.1,600,1,2,null,0]', "no time on the calendar"),
        (
            f'["10min",{START + 600},600,0.1,600,1,2,null,0],\n'
            f'["10min",{START},600,0.1,600,1,2,null,0]',
            "increasing",
        ),
    ],
)
def test_an_invalid_row_is_refused_with_its_number_and_reason(row: str, reason: str) -> None:
    error = refused(json_with_row(row))
    assert error.key in {"import_invalid_row", "import_malformed"}
    assert reason in str(error)


def test_a_csv_row_with_a_word_for_a_number_is_refused() -> None:
    lines = good_csv().splitlines(keepends=True)
    first_row = lines.index(",".join(COLUMNS) + "\n") + 1
    cells = lines[first_row].split(",")
    cells[3] = "lots"
    lines[first_row] = ",".join(cells)
    error = refused("".join(lines))
    assert error.key == "import_invalid_row"
    assert error.placeholders["row"] == "1"


def test_an_empty_export_round_trips() -> None:
    empty = ExportedBuckets("house", "power", ZONE, CURRENCY)
    assert parse(to_csv(empty, EXPORTED), AMS, ZONE, currency=CURRENCY) == empty
    assert parse(to_json(empty, EXPORTED), AMS, ZONE, currency=CURRENCY) == empty


def test_a_file_larger_than_the_import_limit_is_refused_before_it_is_read() -> None:
    error = refused(b"#" * (MAX_IMPORT_BYTES + 1))
    assert error.key == "import_too_large"
    assert error.placeholders["limit"] == str(MAX_IMPORT_BYTES // (1024 * 1024))


def test_a_bucket_starting_in_the_bucket_being_measured_is_refused() -> None:
    text = json_with_row(f'["10min",{START},600,0.1,600,1,2,null,0]')
    with pytest.raises(ExportFileError) as caught:
        parse(text.encode(), AMS, ZONE, currency=CURRENCY, not_after=START)
    assert caught.value.key == "import_invalid_row"
    assert "measured now" in str(caught.value)
    assert (
        parse(text.encode(), AMS, ZONE, currency=CURRENCY, not_after=START + 600)
        .ten_minutes[0]
        .start
        == START
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"format": "powerstats/1"}', "no columns and rows"),
        ('{"format": "powerstats/1", "columns": [], "rows": [1]}', "a row is not a list"),
        (
            '{"format": "powerstats-export/1", "columns": ["when", "what"], "rows": []}',
            "its columns are when, what",
        ),
    ],
)
def test_a_json_file_without_the_export_shape_is_refused_saying_what_is_missing(
    text: str, reason: str
) -> None:
    error = refused(text)
    assert error.key == "import_malformed"
    assert reason in error.placeholders["reason"]


def test_a_csv_file_with_broken_quoting_is_refused_as_malformed() -> None:
    lines = good_csv().splitlines(keepends=True)
    lines[6] = '10min,"1"2,600\n'
    error = refused("".join(lines))
    assert error.key == "import_malformed"
    assert "invalid CSV" in error.placeholders["reason"]


def test_a_csv_file_whose_row_count_is_no_number_is_refused_as_malformed() -> None:
    lines = good_csv().splitlines(keepends=True)
    lines[-1] = "# rows: many\n"
    error = refused("".join(lines))
    assert error.key == "import_malformed"
    assert "does not hold a number" in error.placeholders["reason"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (f'["10min",{START},600,null,600,1,2,null,0]', "kwh is missing"),
        (f'["10min",{START},600,1e999,600,1,2,null,0]', "kwh is not finite"),
    ],
)
def test_a_row_without_a_required_finite_number_is_refused(row: str, reason: str) -> None:
    error = refused(json_with_row(row))
    assert error.key == "import_invalid_row"
    assert error.placeholders["reason"] == reason


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (f'["10min",{START},600,{"9" * 400},600,1,2,null,0]', "kwh is larger than 1e+15"),
        (f'["10min",{"9" * 400},600,0.1,600,1,2,null,0]', "start is larger than 1e+15"),
    ],
    ids=["kwh", "start"],
)
def test_a_json_integer_too_large_for_any_float_is_refused_as_an_invalid_row(
    row: str, reason: str
) -> None:
    error = refused(json_with_row(row))
    assert error.key == "import_invalid_row"
    assert error.placeholders["reason"] == reason


def test_a_json_file_nested_thousands_deep_is_refused_as_malformed() -> None:
    error = refused('{"rows": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert error.key == "import_malformed"
    assert error.placeholders["reason"] == "its JSON is nested too deeply"


# Below the CSV reader's limit of a field, so the column line reaches the check of columns.
HUGE = "z" * 100_000


def texts(error: ExportFileError) -> list[str]:
    """Everything of an error that is shown or logged."""
    return [str(error), *error.placeholders.values()]


@pytest.mark.parametrize(
    ("write", "old", "new", "key"),
    [
        (to_json, '"format":"powerstats-export/1"', f'"format":"{HUGE}"', "import_malformed"),
        (to_json, '"timezone":"Europe/Amsterdam"', f'"timezone":"{HUGE}"', "import_wrong_timezone"),
        (to_json, '"level","start"', f'"{HUGE}","start"', "import_malformed"),
        (to_json, '["10min",', f'["{HUGE}",', "import_invalid_row"),
        (to_csv, "# format: powerstats-export/1", f"# format: {HUGE}", "import_malformed"),
        (to_csv, "# timezone: Europe/Amsterdam", f"# timezone: {HUGE}", "import_wrong_timezone"),
        (to_csv, "level,start,", f"{HUGE},start,", "import_malformed"),
        (to_csv, "# rows: ", "# rows: " + "9" * 4000, "import_truncated"),
        (to_csv, "level,", "z," * 50_000 + "level,", "import_malformed"),
    ],
    ids=[
        "format",
        "timezone",
        "column",
        "level",
        "csv-format",
        "csv-timezone",
        "csv-column",
        "csv-rows",
        "csv-columns",
    ],
)
def test_a_huge_value_from_the_file_is_cut_short_in_the_error(
    write: Callable[[ExportedBuckets, str], bytes], old: str, new: str, key: str
) -> None:
    good = write(export(recorded_history(1)), EXPORTED).decode()
    assert old in good
    error = refused(good.replace(old, new, 1))
    assert error.key == key
    assert all(len(text) < 400 for text in texts(error)), [len(t) for t in texts(error)]
    assert any("…" in text for text in texts(error))


@pytest.mark.parametrize(
    ("value", "shown"), [("[[[1]]]", "a list"), ('{"a": {"b": 1}}', "an object")]
)
def test_a_format_that_is_no_text_is_named_by_its_kind(value: str, shown: str) -> None:
    error = refused(f'{{"format": {value}, "columns": [], "rows": []}}')
    assert error.placeholders["reason"] == f"its format is {shown}, expected 'powerstats-export/1'"
