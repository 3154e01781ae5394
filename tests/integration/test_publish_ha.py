"""Publishing with a real HA core against the fake GitHub: when, what, and what goes wrong."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
)
from pytest_homeassistant_custom_component.typing import (  # type: ignore[import-untyped]
    WebSocketGenerator,
)

from custom_components.powerstats.const import DOMAIN
from custom_components.powerstats.core.github import GitHubClient, Target, git_blob_sha
from custom_components.powerstats.core.publish_plan import (
    LONGEST_WAIT,
    PublishedMeter,
    published_files,
)
from custom_components.powerstats.core.restore_plan import MAX_METERS
from custom_components.powerstats.core.views import LEVELS
from custom_components.powerstats.panel import PANEL_MODULE
from custom_components.powerstats.publish_settings import CONF_GITHUB_TOKEN
from custom_components.powerstats.publisher import dashboard_dir, read_dashboard
from tests.fake_github import FakeGitHub
from tests.fake_github.server import CONTENT_WRITES_PER_MINUTE

from .conftest import SOURCE, Clock, at, make_entry
from .publish_support import (
    REPOSITORY,
    TOKEN,
    W,
    fake,
    github_options,
    local_files,
    manifest_of,
    no_write_pause,
    publisher,
    settle,
    start_publishing_meter,
    state_of,
)

__all__ = ["fake", "no_write_pause"]  # fixtures used by name below

BUTTON = "button.powerstats_publish_now"
PROBLEM = "binary_sensor.powerstats_publish_problem"
MAINTENANCE = "switch.powerstats_maintenance"
LAST_PUBLISH = "sensor.powerstats_last_publish"


def on_has_clock(fake: FakeGitHub) -> None:
    """Let the fake's rate limits and lockouts run on HA's test clock (frozen, moved by tests)."""
    fake.clock = lambda: time.time()


def sent_with(fake: FakeGitHub, token: str) -> list[int]:
    """The statuses of the requests that carried `token`."""
    return [r.status for r in fake.requests if r.headers.get("authorization") == f"Bearer {token}"]


def seed(fake: FakeGitHub) -> None:
    """A repository that already has a commit (a README), as most users start."""
    fake.repo.commit_files({"README.md": b"# Our energy\n"}, "Initial commit", 1)


async def step_to(hass: HomeAssistant, move_to: Clock, start: datetime, end: datetime) -> None:
    """Walk the clock in 10-minute steps (each tick renders the files), then to `end`.

    Every publish started on the way finishes before the clock moves on: HA's test clock also
    drives the request timeouts.
    """
    moment = start.astimezone(UTC)  # real elapsed time, also across a DST change
    while moment + timedelta(minutes=10) <= end:
        moment += timedelta(minutes=10)
        await move_to(moment)
        await settle(hass)
    await move_to(end)
    await settle(hass)


async def just_after(hass: HomeAssistant, move_to: Clock, epoch: float) -> None:
    """Move the clock one second past an epoch time (a retry time) and let the publish run."""
    await move_to(dt_util.utc_from_timestamp(epoch + 1))
    await settle(hass)


async def press(hass: HomeAssistant) -> None:
    await hass.services.async_call("button", "press", {"entity_id": BUTTON}, blocking=True)
    await settle(hass)


async def press_held(hass: HomeAssistant, why: str) -> None:
    """Press Publish now while something holds publishing: the press says what (`why`, the
    message's key), and the publish waits for it."""
    with pytest.raises(ServiceValidationError) as held:
        await hass.services.async_call("button", "press", {"entity_id": BUTTON}, blocking=True)
    assert held.value.translation_key == why
    await settle(hass)


async def new_data(hass: HomeAssistant, move_to: Clock, now: datetime, watts: str) -> datetime:
    """Change the load and close a bucket, so the files differ from what was published."""
    hass.states.async_set(SOURCE, watts, W)
    later = now + timedelta(minutes=10)
    await move_to(later)
    return later


async def stopped_after_a_publish(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> tuple[MockConfigEntry, int]:
    """PowerStats set up at noon published, then HA stopped and the load changed; returns the
    entry and the number of commits then."""
    seed(fake)
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(hass, fake)
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.states.async_set(SOURCE, "1500", W)
    return entry, len(fake.repo.history())


def saved_state(hass_storage: dict[str, object], entry: MockConfigEntry) -> dict[str, Any]:
    """The publishing state as saved for `entry`, to be changed before the entry starts."""
    saved = hass_storage[f"{DOMAIN}.publish.{entry.entry_id}"]
    assert isinstance(saved, dict)
    data: dict[str, Any] = saved["data"]
    return data


def published_matches_local(hass: HomeAssistant, fake: FakeGitHub) -> None:
    remote, local = fake.repo.files(), local_files(hass)
    for path in ("house/monthly.json", "house/yearly.json"):
        assert remote[path] == local[path]
    assert manifest_of(remote)["generated"] == manifest_of(local)["generated"]


# ---- what is published ---------------------------------------------------------------------


async def test_the_largest_dataset_is_published_within_githubs_limit_on_content_creating_requests(
    fake: FakeGitHub,
) -> None:
    # The most meters a published dataset may list (a restore reads no more), every level, and
    # the dashboard as the publisher sends it, into an empty repository: the publish with the
    # most writes. No pause between writes, so they all fall into one of the fake's minutes.
    ids = [f"meter{n:03d}" for n in range(MAX_METERS)]
    manifest = {"format": "powerstats/1", "meters": [{"id": i, "files": {}} for i in ids]}
    rendered = {"manifest.json": json.dumps(manifest).encode()}
    for meter_id in ids:
        for level in LEVELS:
            rendered[f"{meter_id}/{level}.json"] = f'{{"level": "{level}", "rows": []}}\n'.encode()
    dashboard = read_dashboard(dashboard_dir(), frozenset({PANEL_MODULE}))
    files = published_files(
        rendered, [PublishedMeter(i, frozenset(LEVELS)) for i in ids], dashboard
    )
    target = Target.parse(REPOSITORY, api_url=fake.api_url)

    async with aiohttp.ClientSession() as session:
        client = GitHubClient(session, TOKEN, target, write_interval=0)
        await client.publish(files, "Energy history")

    assert [r.status for r in fake.requests if r.status in (403, 429)] == []
    assert len(fake.writes) <= CONTENT_WRITES_PER_MINUTE
    assert fake.repo.files() == files


async def test_the_first_publish_fills_an_empty_repository_with_chosen_levels_and_dashboard(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))

    await start_publishing_meter(ha, fake)

    files = fake.repo.files()
    assert {"manifest.json", "house/monthly.json", "house/yearly.json", "index.html"} <= set(files)
    assert {"index.html.gz", "index.html.br", "js/boot.js.gz"} <= set(files)
    assert not [path for path in files if path.startswith("ha-panel.js")]  # HA's own panel
    assert "house/daily.json" not in files
    assert "house/weekly.json" not in files
    manifest = manifest_of(files)
    assert sorted(manifest["meters"][0]["files"]) == ["monthly", "yearly"]
    assert manifest["maintenance"] is False
    published_matches_local(ha, fake)
    assert len(fake.repo.history()) == 2  # the first file through Contents, then one commit


async def test_a_nightly_publish_makes_exactly_one_commit_holding_every_changed_file(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    freezer.move_to(at(2026, 11, 26, 23, 0))
    await start_publishing_meter(ha, fake)
    commits = len(fake.repo.history())
    ha.states.async_set(SOURCE, "2400", W)
    fake.clear_log()

    await step_to(ha, move_to, at(2026, 11, 26, 23, 0), at(2026, 11, 27, 0, 5))
    await settle(ha)

    assert len(fake.repo.history()) == commits + 1
    tree = next(r for r in fake.requests if r.path.endswith("/git/trees"))
    sent = {entry["path"] for entry in tree.body["tree"]}
    assert {"manifest.json", "house/monthly.json", "house/yearly.json"} <= sent
    assert not any(path.endswith(("daily.json", "weekly.json")) for path in sent)
    assert "index.html" not in sent  # unchanged since the first publish
    published_matches_local(ha, fake)
    assert publisher(ha, ha.config_entries.async_entries(DOMAIN)[0]).state.last_night == (
        "2026-11-27"
    )


async def test_nothing_changed_since_the_last_publish_sends_no_request(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    await start_publishing_meter(ha, fake)
    fake.clear_log()

    await press(ha)

    assert fake.requests == []


async def test_a_branch_moved_by_someone_else_mid_publish_is_rebuilt_without_losing_either(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    freezer.move_to(at(2026, 11, 26, 12, 0))
    await start_publishing_meter(ha, fake)
    await new_data(ha, move_to, at(2026, 11, 26, 12, 0), "1800")
    fake.someone_else_pushes({"NOTES.md": b"a note pushed from a laptop\n"})
    fake.clear_log()

    await press(ha)

    assert [r.status for r in fake.requests if r.method == "PATCH"] == [422, 200]
    assert fake.repo.files()["NOTES.md"] == b"a note pushed from a laptop\n"
    published_matches_local(ha, fake)


async def test_the_publish_action_publishes_now(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    await start_publishing_meter(ha, fake)
    await new_data(ha, move_to, at(2026, 11, 26, 12, 0), "900")
    commits = len(fake.repo.history())

    await ha.services.async_call(DOMAIN, "publish", {}, blocking=True)
    await settle(ha)

    assert len(fake.repo.history()) == commits + 1
    published_matches_local(ha, fake)


async def test_every_n_minutes_publishes_what_changed_between_nights(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    await start_publishing_meter(ha, fake, publish_interval=15)
    commits = len(fake.repo.history())
    ha.states.async_set(SOURCE, "700", W)

    await step_to(ha, move_to, at(2026, 11, 26, 12, 0), at(2026, 11, 26, 12, 15))
    await settle(ha)

    assert len(fake.repo.history()) == commits + 1
    published_matches_local(ha, fake)


# ---- faults ------------------------------------------------------------------------------


async def test_server_errors_are_retried_with_backoff_then_one_commit_holds_everything(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    fake.server_errors(times=2, status=502)
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)
    state = publisher(ha, entry).state
    assert state_of(ha, PROBLEM).state == "on"
    assert state_of(ha, PROBLEM).attributes["reason"] == "cannot_connect"
    first_retry = state.retry_at
    assert first_retry is not None
    assert 30 <= first_retry - start.timestamp() <= 60

    await move_to(start + timedelta(seconds=29))
    await settle(ha)
    assert len(fake.requests) == 1  # nothing sent during the backoff period

    await just_after(ha, move_to, first_retry)
    assert [r.status for r in fake.requests] == [502, 502]
    second_retry = state.retry_at
    assert second_retry is not None
    assert second_retry - first_retry >= 60  # the period doubled

    await just_after(ha, move_to, second_retry)

    assert len(fake.repo.history()) == 2
    published_matches_local(ha, fake)
    assert state_of(ha, PROBLEM).state == "off"


async def test_a_rate_limit_waits_until_github_resets_it(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    start = at(2026, 11, 26, 12, 0)
    reset_at = int(start.timestamp()) + 900
    fake.primary_rate_limit(reset_at=reset_at)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)
    assert state_of(ha, PROBLEM).attributes["reason"] == "rate_limited"
    retry_at = publisher(ha, entry).state.retry_at
    assert retry_at is not None
    assert retry_at >= reset_at

    await move_to(dt_util.utc_from_timestamp(reset_at - 60))
    await settle(ha)
    assert len(fake.requests) == 1

    await just_after(ha, move_to, retry_at)

    assert len(fake.repo.history()) == 2
    assert state_of(ha, PROBLEM).state == "off"


async def test_a_rate_limit_naming_years_is_waited_out_within_the_hour(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    start = at(2026, 11, 26, 12, 0)
    fake.secondary_rate_limit(retry_after=99_999_999_999)  # about 3,000 years
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)
    retry_at = publisher(ha, entry).state.retry_at
    assert retry_at is not None
    assert retry_at <= start.timestamp() + LONGEST_WAIT

    await just_after(ha, move_to, retry_at)

    assert len(fake.repo.history()) == 2
    assert state_of(ha, PROBLEM).state == "off"


async def test_a_saved_state_with_a_broken_night_and_an_endless_wait_still_publishes(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    fake: FakeGitHub,
    hass_storage: dict[str, object],
) -> None:
    entry, commits = await stopped_after_a_publish(ha, freezer, fake)
    saved_state(hass_storage, entry).update(last_night="last night", retry_at=1e12, pending=True)

    restart = at(2026, 11, 27, 9, 0)
    freezer.move_to(restart)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await settle(ha)
    await just_after(ha, move_to, restart.timestamp() + LONGEST_WAIT)

    assert len(fake.repo.history()) == commits + 1
    assert publisher(ha, entry).state.last_night == "2026-11-27"


async def test_a_night_noted_while_the_clock_ran_ahead_does_not_hold_the_nights_after_it(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    fake: FakeGitHub,
    hass_storage: dict[str, object],
) -> None:
    # A machine whose clock ran years ahead for a while (no clock battery, no network time yet)
    # published "the night of 2031-05-01"; its clock was put right since.
    entry, commits = await stopped_after_a_publish(ha, freezer, fake)
    saved_state(hass_storage, entry).update(last_night="2031-05-01", pending=False)

    freezer.move_to(at(2026, 11, 26, 22, 0))
    assert await ha.config_entries.async_setup(entry.entry_id)
    await settle(ha)
    await move_to(at(2026, 11, 27, 0, 6))  # the nightly publish
    await settle(ha)

    # The night of the 26th caught up at the start, the night of the 27th done on time.
    assert len(fake.repo.history()) == commits + 1
    assert publisher(ha, entry).state.last_night == "2026-11-27"


async def test_no_permission_raises_a_repair_issue_and_retries_hourly_not_in_a_loop(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    fake.grant(TOKEN, "read")
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)
    issue_id = f"publish_no_permission_{entry.entry_id}"
    issue = ir.async_get(ha).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "publish_no_permission"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["missing"] == "contents=write"
    assert state_of(ha, PROBLEM).attributes["reason"] == "no_push_permission"
    failed = len(fake.requests)

    await move_to(start + timedelta(minutes=30))
    await settle(ha)
    assert len(fake.requests) == failed

    fake.grant(TOKEN, "write")  # the user fixed the token on GitHub
    commits = len(fake.repo.history())
    await move_to(start + timedelta(minutes=61))
    await settle(ha)

    assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is None
    assert len(fake.repo.history()) == commits + 1
    assert state_of(ha, PROBLEM).state == "off"


async def test_publish_now_after_a_fix_on_github_tries_at_once_not_at_the_hourly_retry(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    fake.grant(TOKEN, "read")
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)
    assert state_of(ha, PROBLEM).attributes["reason"] == "no_push_permission"
    commits = len(fake.repo.history())

    fake.grant(TOKEN, "write")  # the user fixed the token on GitHub, and presses Publish now
    await move_to(start + timedelta(minutes=5))
    await press(ha)

    assert len(fake.repo.history()) == commits + 1
    assert state_of(ha, PROBLEM).state == "off"
    issue_id = f"publish_no_permission_{entry.entry_id}"
    assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is None


async def test_publish_now_during_a_backoff_tries_once_at_once(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    fake.server_errors(times=2, status=502)
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)
    assert publisher(ha, entry).state.retry_at is not None

    await press(ha)  # one more try, the second 502: a new backoff, no loop
    assert [r.status for r in fake.requests] == [502, 502]
    assert state_of(ha, PROBLEM).attributes["reason"] == "cannot_connect"
    await press(ha)

    assert len(fake.repo.history()) == 2
    published_matches_local(ha, fake)
    assert state_of(ha, PROBLEM).state == "off"


async def test_publish_now_during_a_rate_limit_says_until_when_and_sends_nothing(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    start = at(2026, 11, 26, 12, 0)  # 13:00 in Amsterdam
    fake.primary_rate_limit(reset_at=int(start.timestamp()) + 900)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)
    retry_at = publisher(ha, entry).state.retry_at
    assert retry_at is not None
    sent = len(fake.requests)

    with pytest.raises(ServiceValidationError) as held:
        await ha.services.async_call(DOMAIN, "publish", {}, blocking=True)
    await settle(ha)

    assert held.value.translation_key == "publish_rate_limited"
    until = dt_util.as_local(dt_util.utc_from_timestamp(retry_at)).strftime("%H:%M")
    assert held.value.translation_placeholders == {"time": until}
    assert len(fake.requests) == sent
    await just_after(ha, move_to, retry_at)
    assert len(fake.repo.history()) == 2  # what waited went out when GitHub said


@pytest.mark.parametrize(
    ("case", "issue_key", "reason"),
    [
        ("single sign-on", "publish_sso_required", "sso_required"),
        ("protected branch", "publish_branch_protected", "branch_protected"),
    ],
)
async def test_what_github_refuses_until_the_user_acts_has_its_own_repair_retried_hourly(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    fake: FakeGitHub,
    case: str,
    issue_key: str,
    reason: str,
) -> None:
    seed(fake)
    if case == "single sign-on":
        fake.grant(TOKEN, "write", sso_pending=True)
    else:
        fake.protect("main")
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)

    issues = ir.async_get(ha)
    issue = issues.async_get_issue(DOMAIN, f"{issue_key}_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["branch"] == "main"
    assert issues.async_get_issue(DOMAIN, f"publish_no_permission_{entry.entry_id}") is None
    assert state_of(ha, PROBLEM).attributes["reason"] == reason
    failed = len(fake.requests)
    await move_to(start + timedelta(minutes=30))
    await settle(ha)
    assert len(fake.requests) == failed

    fake.grant(TOKEN, "write")  # the user authorized the token, or let it past the rule
    fake.protected.clear()
    commits = len(fake.repo.history())
    await move_to(start + timedelta(minutes=61))
    await settle(ha)

    assert issues.async_get_issue(DOMAIN, f"{issue_key}_{entry.entry_id}") is None
    assert len(fake.repo.history()) == commits + 1
    assert state_of(ha, PROBLEM).state == "off"


async def test_a_repair_issue_gives_way_to_the_one_for_what_github_refuses_now(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    fake.grant(TOKEN, "read")
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)
    fake.grant(TOKEN, "write")  # the permission fixed, but the branch takes pull requests only
    fake.protect("main")

    await move_to(start + timedelta(minutes=61))
    await settle(ha)

    shown = [
        issue_id
        for (domain, issue_id), issue in ir.async_get(ha).issues.items()
        if domain == DOMAIN and issue.active
    ]
    assert shown == [f"publish_branch_protected_{entry.entry_id}"]
    assert state_of(ha, PROBLEM).attributes["reason"] == "branch_protected"


async def test_the_repair_issue_of_a_problem_standing_at_a_restart_is_shown_again_at_once(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    seed(fake)
    missing = "contents=write, workflows=write"
    fake.fail(
        403,
        "Resource not accessible by personal access token",
        method="POST",
        path="/git/trees",
        headers={"X-Accepted-GitHub-Permissions": missing},
    )
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)
    issue_id = f"publish_no_permission_{entry.entry_id}"
    assert await ha.config_entries.async_unload(entry.entry_id)
    # A restart forgets a repair issue that is not persistent (it comes back inactive).
    ir.async_delete_issue(ha, DOMAIN, issue_id)
    fake.clear_log()

    freezer.move_to(at(2026, 11, 26, 12, 20))  # within the hour before the next try
    assert await ha.config_entries.async_setup(entry.entry_id)
    await settle(ha)

    assert fake.requests == []
    assert state_of(ha, PROBLEM).attributes["reason"] == "no_push_permission"
    issue = ir.async_get(ha).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.active
    assert issue.translation_placeholders == {
        "repository": REPOSITORY,
        "branch": "main",
        "missing": missing,
    }


async def test_a_repository_the_token_cannot_see_raises_a_repair_issue(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    seed(fake)
    fake.grant(TOKEN, "none")
    freezer.move_to(at(2026, 11, 26, 12, 0))

    entry = await start_publishing_meter(ha, fake)

    issue = ir.async_get(ha).async_get_issue(
        DOMAIN, f"publish_repository_not_found_{entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["repository"] == "alice/energy"
    assert state_of(ha, PROBLEM).attributes["reason"] == "repository_not_found"


async def test_a_repository_holding_history_not_published_from_here_waits_for_the_user(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    # What Home Assistant published before it was set up again: the history a restore reads.
    earlier = {"manifest.json": b'{"format": "powerstats/1"}\n', "house/yearly.json": b"{}\n"}
    fake.repo.commit_files(earlier, "Energy history as of last year", 1)
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake)
    issue_id = f"publish_existing_data_{entry.entry_id}"
    assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is not None
    assert state_of(ha, PROBLEM).attributes["reason"] == "existing_data"

    await step_to(ha, move_to, start, start + timedelta(days=1, hours=1))  # a night, intervals
    looked = len(fake.requests)
    assert await ha.config_entries.async_reload(entry.entry_id)
    await settle(ha)
    assert len(fake.requests) > looked  # set up again, it looks again: the data may be gone
    assert fake.writes == []
    assert fake.repo.files() == earlier
    assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is not None

    await press(ha)  # the user's go-ahead, as the repair issue says

    published_matches_local(ha, fake)
    assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is None
    assert state_of(ha, PROBLEM).state == "off"


async def test_only_an_administrator_can_replace_history_not_published_from_here(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake: FakeGitHub,
    hass_admin_user: MockUser,
) -> None:
    # Anyone may press Publish now (a wall tablet's login): replacing what Pages, the board and
    # a restore read is an administrator's decision.
    earlier = {"manifest.json": b'{"format": "powerstats/1"}\n', "house/yearly.json": b"{}\n"}
    fake.repo.commit_files(earlier, "Another installation's history", 1)
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)
    issue_id = f"publish_existing_data_{entry.entry_id}"
    # A household member: may control entities and call actions, not administer.
    tablet = await ha.auth.async_create_user("Wall tablet", group_ids=["system-users"])
    user = Context(user_id=tablet.id)
    for domain, service, data in (
        ("button", "press", {"entity_id": BUTTON}),
        (DOMAIN, "publish", {}),
    ):
        # The caller's refusal (HA answers it as a bad request), naming the repository.
        with pytest.raises(ServiceValidationError) as raised:
            await ha.services.async_call(domain, service, data, blocking=True, context=user)
        assert raised.value.translation_key == "replace_needs_admin"
        assert raised.value.translation_placeholders == {"repository": REPOSITORY}
        await settle(ha)
        assert fake.writes == []
        assert fake.repo.files() == earlier
        assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is not None

    admin = Context(user_id=hass_admin_user.id)
    await ha.services.async_call(DOMAIN, "publish", {}, blocking=True, context=admin)
    await settle(ha)

    published_matches_local(ha, fake)
    assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is None


async def test_a_refused_replace_reaches_the_frontend_as_the_callers_error_naming_the_repository(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake: FakeGitHub,
    hass_ws_client: WebSocketGenerator,
) -> None:
    # The frontend calls the button and the action over the websocket: a refusal shows there as
    # the user's mistake with its translated message, not as a failure of Home Assistant.
    fake.repo.commit_files({"manifest.json": b'{"format": "powerstats/1"}\n'}, "Another's", 1)
    freezer.move_to(at(2026, 11, 26, 12, 0))
    await start_publishing_meter(ha, fake)
    tablet = await ha.auth.async_create_user("Wall tablet", group_ids=["system-users"])
    refresh = await ha.auth.async_create_refresh_token(tablet, CLIENT_ID)
    client = await hass_ws_client(ha, ha.auth.async_create_access_token(refresh))
    for domain, service, data in (
        ("button", "press", {"entity_id": BUTTON}),
        (DOMAIN, "publish", {}),
    ):
        await client.send_json_auto_id(
            {"type": "call_service", "domain": domain, "service": service, "service_data": data}
        )
        answer = await client.receive_json()
        assert not answer["success"]
        assert answer["error"]["code"] == "service_validation_error"
        assert answer["error"]["translation_key"] == "replace_needs_admin"
        assert REPOSITORY in answer["error"]["message"]
    assert fake.writes == []


async def test_a_first_commit_that_landed_unheard_is_ours_after_later_tries_fail_too(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    # GitHub moved the branch to the first commit, but its answer was lost (a 502 after the
    # work was done). HA restarts, renders a newer manifest, and that try fails before it
    # commits (the network not up yet): the manifest on the branch is still this one's own.
    seed(fake)
    fake.lose_answers(method="PATCH", path="/git/refs/")
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)
    assert "manifest.json" in fake.repo.files()
    assert await ha.config_entries.async_unload(entry.entry_id)
    ha.states.async_set(SOURCE, "1500", W)
    fake.server_errors(method="GET", path="/git/ref/")
    freezer.move_to(at(2026, 11, 26, 12, 30))
    assert await ha.config_entries.async_setup(entry.entry_id)
    await settle(ha)
    retry_at = publisher(ha, entry).state.retry_at
    assert retry_at is not None

    await just_after(ha, move_to, retry_at)

    assert publisher(ha, entry).state.problem is None
    issue_id = f"publish_existing_data_{entry.entry_id}"
    assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is None
    published_matches_local(ha, fake)


@pytest.mark.parametrize("sending_saved", [True, False])
async def test_a_crash_right_after_a_first_commit_does_not_hold_the_next_publish(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    fake: FakeGitHub,
    hass_storage: dict[str, object],
    sending_saved: bool,
) -> None:
    entry, commits = await stopped_after_a_publish(ha, freezer, fake)
    # As the state was saved just before that first commit: what it was sending, no record yet.
    sending = git_blob_sha(fake.repo.files()["manifest.json"]) if sending_saved else None
    saved_state(hass_storage, entry).update(published={}, sending=sending, pending=True)

    freezer.move_to(at(2026, 11, 26, 12, 30))
    assert await ha.config_entries.async_setup(entry.entry_id)
    await settle(ha)

    if sending_saved:
        assert len(fake.repo.history()) == commits + 1
        assert publisher(ha, entry).state.problem is None
    else:  # a manifest it has no record of: left alone, the user asked (as before a restore)
        assert len(fake.repo.history()) == commits
        assert publisher(ha, entry).state.problem == "existing_data"


# ---- maintenance and restarts ------------------------------------------------------------


async def test_maintenance_holds_every_publish_and_turning_it_off_publishes_what_waited(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 23, 0))
    await start_publishing_meter(ha, fake)
    await ha.services.async_call("switch", "turn_on", {"entity_id": MAINTENANCE}, blocking=True)
    # Served so as the switch returns: the board's admin page reads it right after.
    assert manifest_of(local_files(ha))["maintenance"] is True
    await settle(ha)
    fake.clear_log()
    commits = len(fake.repo.history())

    ha.states.async_set(SOURCE, "3000", W)
    await step_to(ha, move_to, at(2026, 11, 26, 23, 0), at(2026, 11, 27, 0, 5))  # the night
    await press_held(ha, "publish_paused")
    assert fake.requests == []

    await ha.services.async_call("switch", "turn_off", {"entity_id": MAINTENANCE}, blocking=True)
    assert manifest_of(local_files(ha))["maintenance"] is False
    await settle(ha)

    assert len(fake.repo.history()) == commits + 1
    assert manifest_of(fake.repo.files())["maintenance"] is False
    published_matches_local(ha, fake)


@pytest.mark.parametrize("empty", [False, True], ids=["branch", "empty repository"])
async def test_maintenance_turned_on_during_a_publish_stops_it_before_it_changes_the_branch(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    fake: FakeGitHub,
    empty: bool,
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))

    def maintenance_on() -> None:  # the user flips the switch while the publish is under way
        (entry,) = ha.config_entries.async_entries(DOMAIN)
        turning = publisher(ha, entry).async_set_maintenance(True)
        ha.async_create_task(turning, eager_start=True)

    if empty:  # the start-up publish, which starts the repository with a file of its own
        fake.before_next(maintenance_on, method="GET", path=r"/git/ref/")  # answered 409
        entry = await start_publishing_meter(ha, fake)
    else:  # a later publish, on a branch that has commits
        seed(fake)
        entry = await start_publishing_meter(ha, fake)
        await new_data(ha, move_to, at(2026, 11, 26, 12, 0), "2500")
        fake.before_next(maintenance_on, method="POST", path=r"/git/commits")
        await press(ha)
    commits = 0 if empty else 2

    assert state_of(ha, MAINTENANCE).state == "on"
    assert len(fake.repo.history()) == commits
    assert publisher(ha, entry).state.pending
    await ha.services.async_call("switch", "turn_off", {"entity_id": MAINTENANCE}, blocking=True)
    await settle(ha)
    assert len(fake.repo.history()) == commits + (2 if empty else 1)
    published_matches_local(ha, fake)


async def test_a_publish_held_by_maintenance_shows_as_waiting_at_once(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    await start_publishing_meter(ha, fake)
    await ha.services.async_call("switch", "turn_on", {"entity_id": MAINTENANCE}, blocking=True)
    assert state_of(ha, PROBLEM).attributes["pending"] is False

    await press_held(ha, "publish_paused")

    assert state_of(ha, PROBLEM).attributes["pending"] is True


async def test_maintenance_survives_a_restart(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)
    await ha.services.async_call("switch", "turn_on", {"entity_id": MAINTENANCE}, blocking=True)

    assert await ha.config_entries.async_reload(entry.entry_id)
    await settle(ha)

    assert state_of(ha, MAINTENANCE).state == "on"
    assert manifest_of(local_files(ha))["maintenance"] is True


async def test_a_publish_pending_at_shutdown_is_published_after_the_next_start(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake: FakeGitHub,
    hass_storage: dict[str, object],
) -> None:
    seed(fake)
    fake.server_errors(times=1)
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)
    assert await ha.config_entries.async_unload(entry.entry_id)
    assert saved_state(hass_storage, entry)["pending"] is True
    commits = len(fake.repo.history())

    freezer.move_to(at(2026, 11, 26, 14, 0))  # HA comes back after the backoff period
    assert await ha.config_entries.async_setup(entry.entry_id)
    await settle(ha)

    assert len(fake.repo.history()) == commits + 1
    published_matches_local(ha, fake)
    assert publisher(ha, entry).state.pending is False


async def test_nights_missed_while_home_assistant_was_off_are_caught_up_at_start(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake: FakeGitHub,
    hass_storage: dict[str, object],
) -> None:
    entry, commits = await stopped_after_a_publish(ha, freezer, fake)

    freezer.move_to(at(2026, 11, 29, 9, 30))  # off for three nights
    assert await ha.config_entries.async_setup(entry.entry_id)
    await settle(ha)

    assert len(fake.repo.history()) == commits + 1
    assert publisher(ha, entry).state.last_night == "2026-11-29"


# ---- what you can see --------------------------------------------------------------------


async def test_last_publish_shows_when_the_repository_was_last_brought_up_to_date(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))

    await start_publishing_meter(ha, fake)

    state = ha.states.get(LAST_PUBLISH)
    assert state is not None
    assert dt_util.parse_datetime(state.state) == at(2026, 11, 26, 12, 0)
    assert state_of(ha, PROBLEM).state == "off"


async def test_a_meter_without_publishing_has_only_the_maintenance_switch(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "500", W)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="House",
        unique_id="house",
        data={"entity_id": SOURCE, "name": "House", "meter_id": "house", "kind": "power"},
    )
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await settle(ha)

    assert ha.states.get(MAINTENANCE) is not None
    assert ha.states.get(BUTTON) is None
    assert ha.states.get(PROBLEM) is None
    assert json.loads(local_files(ha)["manifest.json"])["maintenance"] is False


async def test_a_nightly_time_in_the_skipped_spring_hour_still_publishes_once_that_night(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 3, 28, 23, 0))
    entry = await start_publishing_meter(ha, fake, publish_time="02:30:00")
    commits = len(fake.repo.history())
    ha.states.async_set(SOURCE, "800", W)

    # 02:00 CET jumps to 03:00 CEST: 02:30 never happens on the clock.
    await step_to(ha, move_to, at(2026, 3, 28, 23, 0), at(2026, 3, 29, 3, 40))
    await settle(ha)

    assert len(fake.repo.history()) == commits + 1
    assert publisher(ha, entry).state.last_night == "2026-03-29"


async def test_the_token_never_reaches_the_log(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake: FakeGitHub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seed(fake)
    fake.server_errors()
    freezer.move_to(at(2026, 11, 26, 12, 0))

    await start_publishing_meter(ha, fake)
    await press(ha)

    assert "Publishing to alice/energy@main failed" in caplog.text
    assert TOKEN not in caplog.text


async def test_a_level_unticked_later_is_deleted_from_the_repository_at_the_next_publish(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake, publish_levels=["daily", "yearly"])
    assert "house/daily.json" in fake.repo.files()

    ha.config_entries.async_update_entry(
        entry, options={**entry.options, "publish_levels": ["yearly"]}
    )
    await settle(ha)
    await press(ha)

    files = fake.repo.files()
    assert "house/daily.json" not in files
    assert "house/yearly.json" in files
    assert list(manifest_of(files)["meters"][0]["files"]) == ["yearly"]


async def test_a_request_github_never_answers_times_out_and_is_retried_later(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    seed(fake)
    fake.hang()
    arrived = asyncio.Event()
    fake.before_next(arrived.set)
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    ha.states.async_set(SOURCE, "500", W)
    entry = make_entry(options=github_options(fake))
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await asyncio.wait_for(arrived.wait(), 30)  # an event, not a clock: the request is in
    assert [r.status for r in fake.requests] == [0]  # and it hangs

    await move_to(start + timedelta(seconds=21))  # HA's clock drives the request timeout
    await settle(ha)
    assert state_of(ha, PROBLEM).attributes["reason"] == "cannot_connect"
    retry_at = publisher(ha, entry).state.retry_at
    assert retry_at is not None

    await just_after(ha, move_to, retry_at)

    assert len(fake.repo.history()) == 2
    assert state_of(ha, PROBLEM).state == "off"


async def test_a_refused_token_is_never_sent_again_by_timers_or_buttons_until_a_new_one_is_given(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    # GitHub refuses every request from an address that keeps sending bad credentials, a good
    # token's too: the fake does the same, so a retry loop would show as a 403 at the end.
    seed(fake)
    on_has_clock(fake)
    fake.revoke(TOKEN)
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    entry = await start_publishing_meter(ha, fake, publish_interval=10)
    assert sent_with(fake, TOKEN) == [401]
    assert state_of(ha, PROBLEM).attributes["reason"] == "invalid_auth"
    (flow,) = ha.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_REAUTH

    ha.states.async_set(SOURCE, "900", W)  # the files change: every trigger has work to do
    await step_to(ha, move_to, start, start + timedelta(minutes=40))  # interval publishes
    await press_held(ha, "publish_needs_token")
    await move_to(at(2026, 11, 27, 0, 6))  # the nightly publish
    await settle(ha)
    await move_to(at(2026, 11, 27, 3, 0))  # past every backoff and the hourly retry
    await settle(ha)
    assert sent_with(fake, TOKEN) == [401]
    assert publisher(ha, entry).state.pending

    new_token = "ghp_the_new_token_after_reauth_0000000"
    fake.grant(new_token)
    result = await ha.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_GITHUB_TOKEN: new_token}
    )
    await settle(ha)

    assert result["type"] is FlowResultType.ABORT
    assert not fake.is_locked_out()
    assert 403 not in sent_with(fake, new_token)
    published_matches_local(ha, fake)
    assert state_of(ha, PROBLEM).state == "off"


async def test_a_secondary_rate_limit_met_mid_publish_is_waited_out_and_nothing_is_lost(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    # Another program writing with the same token has spent all but one of this minute's
    # content-creating requests: the first publish (dashboard blobs, tree, commit, ref) runs
    # into GitHub's limit on its second write.
    seed(fake)
    on_has_clock(fake)
    start = at(2026, 11, 26, 12, 0)
    freezer.move_to(start)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    blobs = f"{fake.api_url}/repos/alice/energy/git/blobs"
    async with aiohttp.ClientSession(headers=headers) as other_program:
        for _ in range(CONTENT_WRITES_PER_MINUTE - 1):
            async with other_program.post(blobs, json={"content": "theirs"}) as answer:
                assert answer.status == 201
    fake.clear_log()

    entry = await start_publishing_meter(ha, fake)
    refused = [r for r in fake.requests if r.status == 403]
    assert [r.method for r in refused] == ["POST"]
    assert state_of(ha, PROBLEM).attributes["reason"] == "rate_limited"
    retry_at = publisher(ha, entry).state.retry_at
    assert retry_at is not None
    assert retry_at >= start.timestamp() + 60  # the retry-after of a minute just begun
    sent = len(fake.requests)

    await move_to(start + timedelta(seconds=59))
    await settle(ha)
    assert len(fake.requests) == sent  # nothing sent while GitHub said wait
    await just_after(ha, move_to, retry_at)

    assert len(fake.repo.history()) == 2
    published_matches_local(ha, fake)
    assert state_of(ha, PROBLEM).state == "off"
