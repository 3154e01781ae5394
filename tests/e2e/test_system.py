"""The whole system as a user meets it: HA, the files, GitHub, the board agent and a browser."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.contract import validate_bytes
from tests.e2e.conftest import started
from tests.e2e.homeassistant_process import (
    CLIENT_ID,
    HomeAssistantProcess,
    Tokens,
    add_meter,
    http,
    served_files,
)
from tests.e2e.processes import AgentProcess, FakeGitHubProcess

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)
SENSOR = "sensor.e2e_power"
POWER_ATTRIBUTES = {
    "unit_of_measurement": "W",
    "device_class": "power",
    "state_class": "measurement",
}


def wait_for[T](condition: Callable[[], T | None], what: str, timeout: float = 90) -> T:
    """Poll another process's observable state until `condition` holds (or fail naming `what`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)  # polling another process, not waiting for time to pass
    pytest.fail(f"timed out waiting for {what}")


def set_power(ha: HomeAssistantProcess, tokens: Tokens, watts: float | str) -> None:
    http(
        f"{ha.url}/api/states/{SENSOR}",
        {"state": str(watts), "attributes": POWER_ATTRIBUTES},
        token=tokens.access_token,
    )


def local_files(ha: HomeAssistantProcess, token: str) -> dict[str, bytes]:
    """manifest.json and every file it lists, as HA serves them (polled until they agree)."""
    return wait_for(lambda: served_files(ha.url, token), "a consistent set of files")


def _snapshot(root: Path) -> dict[str, bytes] | None:
    """The copy in HA's config folder, when its manifest and files agree."""
    manifest = root / "manifest.json"
    if not manifest.exists():
        return None
    data = manifest.read_bytes()
    files = {"manifest.json": data}
    for meter in json.loads(data)["meters"]:
        for entry in meter["files"].values():
            try:
                files[entry["path"]] = (root / entry["path"]).read_bytes()
            except FileNotFoundError:
                return None
            if hashlib.sha256(files[entry["path"]]).hexdigest() != entry["sha256"]:
                return None
    return files


def level_rows(files: dict[str, bytes], level: str) -> list[list[Any]]:
    return list(json.loads(files[f"house/{level}.json"])["rows"])


def energy_card(page: Page) -> float:
    """The Energy stat card's exact value, read once the dashboard says it is drawn."""
    expect(page.locator(".ps[data-state='ready']")).to_be_visible(timeout=60_000)
    card = page.locator('.ps-card[data-stat="energy"] .ps-card-value')
    expect(card).to_have_attribute("data-value", re.compile(r"\d"))
    return float(card.get_attribute("data-value") or "nan")


# Room on HA's clock for a test's state changes before a boundary, on a busy machine: the clock
# is then moved past the boundary (`move_past`), so the lead costs no waiting.
LEAD = timedelta(minutes=2)
# How far past a boundary `move_past` puts HA's clock: its timer for the boundary is then due.
PAST = timedelta(seconds=5)


def start_before_a_boundary(ha: HomeAssistantProcess, lead: timedelta) -> tuple[Tokens, datetime]:
    """Start HA, then place its clock `lead` before the next 10-minute boundary.

    The clock is moved once HA answers and is onboarded, so start-up on a busy machine never
    eats into the time the test has before the boundary.
    """
    tokens = started(ha, clock=datetime.now(UTC) + timedelta(hours=3))
    boundary = _next_boundary(ha.now() + lead + timedelta(seconds=5))
    ha.move_clock(boundary - lead, tokens.access_token)
    return tokens, boundary


def move_past(ha: HomeAssistantProcess, token: str, boundary: datetime) -> None:
    """Move HA's clock just past `boundary` once the test's state changes before it are made.

    HA's own timer closes the bucket then; the test polls for what HA shows, rather than
    waiting for real time to reach the boundary.
    """
    assert ha.now() < boundary, "the state changes before the boundary took longer than the lead"
    ha.move_clock(boundary + PAST, token)


def test_a_meter_added_in_home_assistant_reaches_github_the_board_and_the_browser(
    home_assistant: HomeAssistantProcess,
    fake_github: FakeGitHubProcess,
    browser: Browser,
    tmp_path: Path,
) -> None:
    ha = home_assistant
    tokens, boundary = start_before_a_boundary(ha, LEAD)
    set_power(ha, tokens, 350)
    add_meter(ha.url, tokens.access_token, SENSOR, "House", fake_github.publishing())
    for watts in (420, 1800, 95.5, "unavailable", 240, 2200, 130):
        set_power(ha, tokens, watts)

    # When the bucket closes, the files are rewritten; they are valid and hold the energy.
    move_past(ha, tokens.access_token, boundary)
    closed_start = int((boundary - timedelta(minutes=10)).timestamp())
    files = wait_for(
        lambda: _with_closed_bucket(ha, tokens.access_token, closed_start),
        "the first bucket to close",
    )
    for data in files.values():
        validate_bytes(data)
    manifest = json.loads(files["manifest.json"])
    assert manifest["meters"][0]["entity_id"] == SENSOR
    for entry in manifest["meters"][0]["files"].values():
        assert entry["sha256"] == hashlib.sha256(files[entry["path"]]).hexdigest()

    # The data view serves nothing without a token.
    with pytest.raises(OSError, match="401"):
        http(f"{ha.url}/api/powerstats/data/manifest.json")
    # The copy in HA's config folder (made when the meter was added) is whole and valid.
    copy = wait_for(lambda: _snapshot(ha.config / "powerstats"), "the config folder's copy")
    for data in copy.values():
        validate_bytes(data)

    # One publish: exactly one commit holding manifest, every level and the dashboard.
    commits_before = fake_github.commits()
    http(f"{ha.url}/api/services/powerstats/publish", {}, token=tokens.access_token)
    wait_for(lambda: fake_github.commits() > commits_before, "the publish to reach GitHub")
    assert fake_github.commits() == commits_before + 1
    published_manifest = json.loads(fake_github.file("manifest.json"))
    for entry in published_manifest["meters"][0]["files"].values():
        data = fake_github.file(entry["path"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        validate_bytes(data)
    assert b"<html" in fake_github.file("index.html").lower()

    # The board agent mirrors exactly what HA serves.
    agent = AgentProcess(
        home=tmp_path / "agent",
        source_url=f"{ha.url}/api/powerstats/data/",
        token=_long_lived(ha, tokens),
    )
    agent.write_config()
    result = agent.run("mirror-once")
    assert result.returncode == 0, result.stderr
    files = local_files(ha, agent.token)
    for path, data in files.items():
        assert (agent.webroot / path).read_bytes() == data, path
    assert agent.token not in result.stderr + result.stdout
    agent.serve()
    try:
        # A browser shows the same totals on the board and in HA's sidebar panel.
        context = browser.new_context()
        try:
            board = context.new_page()
            errors: list[str] = []
            board.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            board.goto(agent.url + "/")
            on_board = energy_card(board)
            board.screenshot(path=str(ARTIFACTS / "e2e-board.png"), full_page=True)

            panel = context.new_page()
            panel.goto(ha.url + "/auth/authorize")  # any page on HA's origin, for its storage
            panel.evaluate(
                "tokens => localStorage.setItem('hassTokens', JSON.stringify(tokens))",
                _frontend_tokens(ha, tokens),
            )
            panel.goto(ha.url + "/powerstats")
            in_ha = energy_card(panel)
            panel.screenshot(path=str(ARTIFACTS / "e2e-ha-panel.png"), full_page=True)
        finally:
            context.close()
        assert on_board == pytest.approx(in_ha)
        today = sum(row[1] or 0 for row in level_rows(files, "daily"))
        assert on_board == pytest.approx(today, abs=1e-3)
        assert not errors
    finally:
        agent.stop()


def _long_lived(ha: HomeAssistantProcess, tokens: Tokens) -> str:
    from tests.e2e.homeassistant_process import long_lived_token

    return long_lived_token(ha.url, tokens.access_token, "PowerStats agent")


def _frontend_tokens(ha: HomeAssistantProcess, tokens: Tokens) -> dict[str, Any]:
    """What HA's frontend keeps in localStorage after a login."""
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "token_type": "Bearer",
        "expires_in": tokens.expires_in,
        "expires": int(time.time() * 1000) + tokens.expires_in * 1000,
        "hassUrl": ha.url,
        "clientId": CLIENT_ID,
    }


def _with_closed_bucket(
    ha: HomeAssistantProcess, token: str, start: int
) -> dict[str, bytes] | None:
    """HA's files once the bucket starting at `start` has closed with energy in it."""
    files = served_files(ha.url, token)
    if not files:
        return None
    row = {row[0]: row for row in level_rows(files, "daily")}.get(start)
    return files if row is not None and row[5] > 0 else None


def _next_boundary(after: datetime) -> datetime:
    start = after.replace(second=0, microsecond=0)
    return start + timedelta(minutes=10 - start.minute % 10)


def test_kill_9_in_the_middle_of_a_bucket_loses_at_most_that_bucket(
    home_assistant: HomeAssistantProcess,
) -> None:
    # The meter starts before a 10-minute boundary and the clock is moved just past it: a bucket
    # closes, and the kill (and the restart) fall inside the next one.
    ha = home_assistant
    tokens, boundary = start_before_a_boundary(ha, LEAD)
    set_power(ha, tokens, 1000)
    add_meter(ha.url, tokens.access_token, SENSOR, "House")
    move_past(ha, tokens.access_token, boundary)
    closed_start = int((boundary - timedelta(minutes=10)).timestamp())

    def closed_bucket() -> list[Any] | None:
        files = _with_closed_bucket(ha, tokens.access_token, closed_start)
        return {row[0]: row for row in level_rows(files, "daily")}[closed_start] if files else None

    before = wait_for(closed_bucket, "the first bucket to close", timeout=120)
    killed_at = ha.now()
    ha.kill()

    # Restart a minute later on the same clock, inside the same bucket: the downtime is a gap.
    tokens = started(ha, clock=killed_at + timedelta(seconds=60))
    assert ha.now() < boundary + timedelta(minutes=10)
    set_power(ha, tokens, 1000)
    after = wait_for(closed_bucket, "the files after the restart")
    files = local_files(ha, tokens.access_token)
    for data in files.values():
        validate_bytes(data)
    assert after == before  # the closed bucket survived the power cut exactly
    rows = {row[0]: row for row in level_rows(files, "daily")}
    open_bucket = rows[int(boundary.timestamp())]
    assert open_bucket[5] < 1  # the lost part shows as missing coverage, never as energy
    if open_bucket[1] is not None:
        assert open_bucket[1] <= 1000 * 600 * open_bucket[5] / 3.6e6 + 1e-3
