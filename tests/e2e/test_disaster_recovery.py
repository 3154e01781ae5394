"""Disaster recovery: HA's config folder is lost, and the published copies give the history back.

A real hass publishes to the fake GitHub (the day levels, as Pages holds them by default) and
the real board agent mirrors every level from HA's data view. Then HA's config folder is wiped,
a fresh HA gets PowerStats and the same meter, and `powerstats.restore` reads the history back:
from the Pages address the day levels, from the board the 10-minute and hourly ones too.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import started
from tests.e2e.homeassistant_process import (
    HomeAssistantProcess,
    add_meter,
    http,
    login,
    long_lived_token,
    served_files,
)
from tests.e2e.processes import AgentProcess, FakeGitHubProcess
from tests.e2e.test_system import (
    POWER_ATTRIBUTES,
    SENSOR,
    _frontend_tokens,
    _next_boundary,
    energy_card,
    level_rows,
    move_past,
    wait_for,
)

ZONE = ZoneInfo("Europe/Amsterdam")
# The old Home Assistant's power: a few hours each, so every level has rows that differ.
LOADS = (350, 1800, 95.5, 2200, 640, 130, 900, 2750, 410, 60, 1250, 300)
STEP = timedelta(hours=3)


def local_files(ha: HomeAssistantProcess, token: str) -> dict[str, bytes]:
    """HA's files as its data view serves them (polled until the manifest and files agree)."""
    files: dict[str, bytes] = wait_for(lambda: served_files(ha.url, token), "HA's files")
    return files


def started_for_days(ha: HomeAssistantProcess, clock: datetime) -> str:
    """Start HA and return a long-lived token: an access token expires as the clock moves."""
    tokens = started(ha, clock=clock)
    return long_lived_token(ha.url, tokens.access_token, "Disaster recovery")


def set_power(ha: HomeAssistantProcess, token: str, watts: float) -> None:
    http(
        f"{ha.url}/api/states/{SENSOR}",
        {"state": str(watts), "attributes": POWER_ATTRIBUTES},
        token=token,
    )


def on_github(github: FakeGitHubProcess, path: str) -> bytes | None:
    """A file as GitHub Pages serves it, or None before it is published."""
    try:
        return github.file(path)
    except OSError:
        return None


def publish_problem(ha: HomeAssistantProcess, token: str) -> str | None:
    """Why publishing waits, as the Publish problem sensor says; None while it does not."""
    state = http(f"{ha.url}/api/states/binary_sensor.powerstats_publish_problem", token=token)
    return None if state["state"] == "off" else str(state["attributes"].get("reason"))


def restore(ha: HomeAssistantProcess, token: str, source: str) -> dict[str, Any]:
    answer = http(
        f"{ha.url}/api/services/powerstats/restore?return_response",
        {"source": source},
        token=token,
        timeout=120,
    )
    return dict(answer["service_response"])


def with_data(rows: list[list[Any]]) -> dict[int, list[Any]]:
    return {row[0]: row for row in rows if row[5] > 0}


def assert_same_rows(again: dict[int, list[Any]], published: dict[int, list[Any]]) -> None:
    """Equal cell for cell; the mean power within the rounding of energy and coverage.

    Files round energy to 4 decimals and coverage to 3, and the mean is energy over covered
    time, so a bucket rebuilt from a row may give a mean a few tenths of a watt apart.
    """
    assert again.keys() == published.keys()
    for start, row in published.items():
        assert again[start][:2] + again[start][3:] == row[:2] + row[3:], start
        slack = (0.00005 * 3.6e6 + abs(row[2]) * 0.3) / ((row[5] - 0.0005) * 600) + 0.1
        assert abs(again[start][2] - row[2]) <= slack, start


def energy_today_in_the_panel(ha: HomeAssistantProcess, browser: Browser) -> float:
    """The Today tab's Energy today card in HA's sidebar panel, as a person logged in sees it."""
    tokens = login(ha.url)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(ha.url + "/auth/authorize")  # any page on HA's origin, for its storage
        page.evaluate(
            "tokens => localStorage.setItem('hassTokens', JSON.stringify(tokens))",
            _frontend_tokens(ha, tokens),
        )
        page.goto(ha.url + "/powerstats")
        return energy_card(page)
    finally:
        context.close()


def energy_today_sensor(ha: HomeAssistantProcess, token: str) -> float:
    for state in http(f"{ha.url}/api/states", token=token):
        if state["entity_id"].endswith("_energy_today"):
            return float(state["state"])
    raise AssertionError("no Energy today sensor")


def test_after_the_config_folder_is_lost_a_restore_gives_back_what_was_published(
    home_assistant: HomeAssistantProcess,
    fake_github: FakeGitHubProcess,
    browser: Browser,
    tmp_path: Path,
) -> None:
    ha = home_assistant
    # A day and a half of history, from 06:00 the day after tomorrow on HA's clock.
    first_day = datetime.now(ZONE).date() + timedelta(days=2)
    begin = datetime.combine(first_day, time(6, 0), ZONE)
    token = started_for_days(ha, begin)
    set_power(ha, token, LOADS[0])
    publishing = {**fake_github.publishing(), "publish_levels": ["monthly", "yearly"]}
    add_meter(ha.url, token, SENSOR, "House", publishing)
    for step, watts in enumerate(LOADS[1:], start=1):
        ha.move_clock(begin + step * STEP, token)
        set_power(ha, token, watts)
    end = begin + len(LOADS) * STEP
    ha.move_clock(end, token)
    last_closed = int((end - timedelta(minutes=10)).timestamp()) // 600 * 600
    wait_for(
        lambda: (
            (files := served_files(ha.url, token))
            and last_closed in with_data(level_rows(files, "daily"))
        ),
        "the files to hold the day and a half",
        timeout=180,
    )

    # Off-site: a publish to GitHub (Pages: the day levels); the board mirrors every level.
    http(f"{ha.url}/api/services/powerstats/publish", {}, token=token)
    files = local_files(ha, token)
    wait_for(
        lambda: all(
            on_github(fake_github, f"house/{level}.json") == files[f"house/{level}.json"]
            for level in ("monthly", "yearly")
        ),
        "GitHub to hold the day and a half",
    )
    pages = f"{fake_github.api_url}/_pages/{fake_github.repository}/"
    published_before = {
        level: on_github(fake_github, f"house/{level}.json") for level in ("monthly", "yearly")
    }
    on_pages = {
        level: with_data(json.loads(fake_github.file(f"house/{level}.json"))["rows"])
        for level in ("monthly", "yearly")
    }
    agent = AgentProcess(
        home=tmp_path / "agent",
        source_url=f"{ha.url}/api/powerstats/data/",
        token=token,
    )
    agent.write_config()
    mirrored = agent.run("mirror-once")
    assert mirrored.returncode == 0, mirrored.stderr
    board_rows = {
        level: json.loads((agent.webroot / "house" / f"{level}.json").read_bytes())["rows"]
        for level in ("daily", "weekly", "monthly", "yearly")
    }
    on_board = {level: with_data(rows) for level, rows in board_rows.items()}
    # Each file's newest bucket was still open when it was written (today, in the day files).
    board_open = {level: rows[-1][0] for level, rows in board_rows.items()}
    assert len(on_board["monthly"]) == 2  # the first day and the second one so far
    agent.serve()
    try:
        # The disaster: HA's config folder is gone. A fresh HA, PowerStats, the same meter.
        ha.stop()
        shutil.rmtree(ha.config)
        token = started_for_days(
            ha, datetime.combine(first_day + timedelta(days=2), time(0, 5), ZONE)
        )
        set_power(ha, token, 500)
        add_meter(ha.url, token, SENSOR, "House", publishing)
        local_files(ha, token)
        # The same repository: the fresh HA does not publish over the history it holds.
        wait_for(lambda: publish_problem(ha, token) == "existing_data", "publishing to wait")
        assert {level: on_github(fake_github, f"house/{level}.json") for level in on_pages} == (
            published_before
        )

        # From Pages: the days come back, equal row for row to what was published.
        answer = restore(ha, token, pages)
        assert answer["meters"]["house"]["yearly"]["added"] == 2
        for level, published in on_pages.items():

            def restored(level: str = level) -> dict[int, list[Any]] | None:
                return with_data(level_rows(local_files(ha, token), level)) or None

            local = wait_for(restored, f"the restored {level} file")
            assert_same_rows({s: local[s] for s in published if s in local}, published)

        # From the board: the 10-minute and hourly buckets too; the days stay as they were,
        # the one still open on the board completed by the hours it had not taken in yet.
        answer = restore(ha, token, agent.url + "/")
        assert answer["meters"]["house"]["daily"]["added"] > 0
        assert answer["meters"]["house"]["weekly"]["added"] > 0
        assert answer["meters"]["house"]["yearly"]["added"] == 0
        files = local_files(ha, token)
        for level in ("daily", "weekly", "monthly", "yearly"):
            local = with_data(level_rows(files, level))
            first = min(row[0] for row in level_rows(files, level))
            published = {
                s: row for s, row in on_board[level].items() if first <= s < board_open[level]
            }
            assert published, level
            assert_same_rows({s: local[s] for s in published if s in local}, published)

        # Restoring again adds nothing.
        again = restore(ha, token, agent.url + "/")
        assert all(part["added"] == 0 for part in again["meters"]["house"].values())

        # Publish now: the restored history goes to GitHub, the old copy's days included.
        http(f"{ha.url}/api/services/powerstats/publish", {}, token=token)
        wait_for(
            lambda: (
                on_github(fake_github, "house/yearly.json")
                == local_files(ha, token)["house/yearly.json"]
            ),
            "the restored history on GitHub",
        )
        yearly = with_data(json.loads(fake_github.file("house/yearly.json"))["rows"])
        assert on_pages["yearly"].keys() <= yearly.keys()
        assert publish_problem(ha, token) is None

        # One word, one number: the panel's Energy today is the sensor Energy today. 1.5 kW until
        # 20 s before a boundary, then 0 W: once that bucket closed, nothing more is counted.
        set_power(ha, token, 1500)
        boundary = _next_boundary(ha.now() + timedelta(seconds=60))
        ha.move_clock(boundary - timedelta(seconds=20), token)
        set_power(ha, token, 0)
        move_past(ha, token, boundary)
        closed = int((boundary - timedelta(minutes=10)).timestamp())
        wait_for(
            lambda: closed in with_data(level_rows(local_files(ha, token), "daily")),
            "the bucket to close",
            timeout=120,
        )
        sensor = energy_today_sensor(ha, token)
        assert sensor > 0
        assert energy_today_in_the_panel(ha, browser) == pytest.approx(sensor, abs=1e-4)
    finally:
        agent.stop()
