"""The pure publishing plan: nightly due dates across DST, backoff, and what leaves the house."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from custom_components.powerstats.core.publish_plan import (
    BACKOFF_MAX,
    LONGEST_WAIT,
    PublishedMeter,
    backoff_delay,
    due_night,
    next_nightly,
    nightly_moment,
    published_files,
    stale_paths,
)

AMS = ZoneInfo("Europe/Amsterdam")
FIVE_PAST = time(0, 5)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_tonights_publish_is_due_once_its_local_time_has_passed() -> None:
    before = utc(2026, 11, 26, 23, 4)  # 00:04 in Amsterdam
    after = utc(2026, 11, 26, 23, 5)

    assert due_night(before, FIVE_PAST, AMS, last_done=date(2026, 11, 26)) is None
    assert due_night(after, FIVE_PAST, AMS, last_done=date(2026, 11, 26)) == date(2026, 11, 27)
    assert due_night(after, FIVE_PAST, AMS, last_done=date(2026, 11, 27)) is None


def test_nights_missed_while_stopped_are_caught_up_once_at_startup() -> None:
    started = utc(2026, 11, 29, 12, 0)

    assert due_night(started, FIVE_PAST, AMS, last_done=date(2026, 11, 26)) == date(2026, 11, 29)


def test_a_first_start_with_publishing_configured_publishes_right_away() -> None:
    assert due_night(utc(2026, 11, 27, 9, 0), FIVE_PAST, AMS, None) == date(2026, 11, 27)


def test_a_spring_forward_night_is_23_hours_after_the_one_before() -> None:
    first = next_nightly(utc(2026, 3, 28, 12, 0), FIVE_PAST, AMS)
    second = next_nightly(first, FIVE_PAST, AMS)

    assert first == utc(2026, 3, 28, 23, 5)
    assert second - first == timedelta(hours=23)


def test_a_fall_back_night_is_25_hours_after_the_one_before() -> None:
    first = next_nightly(utc(2026, 10, 24, 12, 0), FIVE_PAST, AMS)
    second = next_nightly(first, FIVE_PAST, AMS)

    assert second - first == timedelta(hours=25)


def test_a_time_inside_the_skipped_hour_still_publishes_that_night() -> None:
    moment = nightly_moment(date(2026, 3, 29), time(2, 30), AMS)

    assert moment == utc(2026, 3, 29, 1, 30)  # 03:30 CEST, just after the gap
    assert due_night(moment, time(2, 30), AMS, date(2026, 3, 28)) == date(2026, 3, 29)


def test_a_time_that_happens_twice_publishes_at_the_first_one_only() -> None:
    first = nightly_moment(date(2026, 10, 25), time(2, 30), AMS)
    second_occurrence = first + timedelta(hours=1)

    assert first == utc(2026, 10, 25, 0, 30)
    assert due_night(second_occurrence, time(2, 30), AMS, date(2026, 10, 25)) is None


@given(
    now=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    at=st.times(),
)
def test_every_night_is_due_exactly_once_and_the_next_trigger_lands_on_it(
    now: datetime, at: time
) -> None:
    night = due_night(now, at, AMS, None)
    assert night is not None
    assert due_night(now, at, AMS, night) is None
    trigger = next_nightly(now, at, AMS)
    assert trigger > now
    assert due_night(trigger, at, AMS, night) == night + timedelta(days=1)


def test_backoff_grows_exponentially_with_jitter_up_to_an_hour() -> None:
    rng = random.Random(4)
    delays = [backoff_delay(n, rng) for n in range(1, 10)]

    assert 30 <= delays[0] <= 60
    assert 60 <= delays[1] <= 120
    assert all(BACKOFF_MAX / 2 <= d <= BACKOFF_MAX for d in delays[6:])
    assert len({round(d, 6) for d in delays[6:]}) == 3  # jittered, not lock-step


def test_backoff_is_never_shorter_than_what_github_asked_for() -> None:
    assert backoff_delay(1, random.Random(1), wait_at_least=900) >= 900


def test_no_wait_is_longer_than_githubs_hour_whatever_a_server_names() -> None:
    assert backoff_delay(1, random.Random(1), wait_at_least=99_999_999_999) <= LONGEST_WAIT


def test_a_month_of_failures_in_a_row_still_waits_at_most_an_hour() -> None:
    # 2.0 ** 1024 overflows: the 1,025th failure in a row used to raise instead of waiting.
    delays = [backoff_delay(n, random.Random(n)) for n in (1025, 5000, 10**9)]
    assert all(BACKOFF_MAX / 2 <= d <= BACKOFF_MAX for d in delays)


RENDERED = {
    "manifest.json": json.dumps(
        {
            "format": "powerstats/1",
            "generated": "2026-11-27T00:05:00+01:00",
            "maintenance": True,
            "meters": [
                {
                    "id": "house",
                    "files": {
                        lvl: {"path": f"house/{lvl}.json"}
                        for lvl in ("daily", "weekly", "monthly", "yearly")
                    },
                },
                {"id": "garage", "files": {"yearly": {"path": "garage/yearly.json"}}},
            ],
        }
    ).encode(),
    **{f"house/{lvl}.json": lvl.encode() for lvl in ("daily", "weekly", "monthly", "yearly")},
    "garage/yearly.json": b"garage",
}


def test_only_the_chosen_levels_and_a_manifest_listing_just_them_are_published() -> None:
    files = published_files(
        RENDERED,
        [PublishedMeter("house", frozenset({"monthly", "yearly"}))],
        {"index.html": b"<html>", "js/boot.js": b"boot()"},
    )

    assert sorted(files) == [
        ".nojekyll",
        "house/monthly.json",
        "house/yearly.json",
        "index.html",
        "js/boot.js",
        "manifest.json",
    ]
    manifest = json.loads(files["manifest.json"])
    assert [m["id"] for m in manifest["meters"]] == ["house"]
    assert sorted(manifest["meters"][0]["files"]) == ["monthly", "yearly"]
    assert manifest["maintenance"] is False


def test_the_published_manifest_says_how_often_the_repository_is_refreshed() -> None:
    nightly = published_files(RENDERED, [PublishedMeter("house", frozenset({"yearly"}))], {}, 86400)

    assert json.loads(nightly["manifest.json"])["refresh_seconds"] == 86400


def test_an_unticked_level_and_a_dropped_dashboard_file_are_deleted_but_not_an_absent_meter() -> (
    None
):
    published = [
        "manifest.json",
        "house/daily.json",
        "house/yearly.json",
        "garage/yearly.json",
        "js/old.js",
        "index.html",
    ]
    now = ["manifest.json", "house/yearly.json", "index.html"]

    assert stale_paths(published, now, loaded_meters={"house"}) == ["house/daily.json", "js/old.js"]
