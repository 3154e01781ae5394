"""Setting up publishing: the config-flow step, the options step, reauth, and diagnostics."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir

from custom_components.powerstats.const import DOMAIN
from custom_components.powerstats.diagnostics import async_get_config_entry_diagnostics
from custom_components.powerstats.publish_settings import (
    CONF_GITHUB_API_URL,
    CONF_GITHUB_PATH,
    CONF_GITHUB_REPOSITORY,
    CONF_GITHUB_TOKEN,
    CONF_PUBLISH_INTERVAL,
    CONF_PUBLISH_LEVELS,
)
from tests.fake_github import FakeGitHub

from .conftest import SOURCE, Clock, at
from .publish_support import (
    REPOSITORY,
    TOKEN,
    W,
    fake,
    no_write_pause,
    publisher,
    settle,
    start_publishing_meter,
)

__all__ = ["fake", "no_write_pause"]  # fixtures used by name below

NEW_TOKEN = "ghp_the_new_token_after_reauth_0000000"


async def meter_form_done(hass: HomeAssistant) -> dict[str, Any]:
    """Run the meter's own step of the config flow; returns the publishing step."""
    hass.states.async_set(SOURCE, "500", W)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"entity_id": SOURCE, "name": "House"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "github"
    return dict(result)


def publishing_form(fake: FakeGitHub, **changes: Any) -> dict[str, Any]:
    return {
        CONF_GITHUB_TOKEN: TOKEN,
        CONF_GITHUB_REPOSITORY: REPOSITORY,
        CONF_GITHUB_API_URL: fake.api_url,
        **changes,
    }


async def test_a_meter_is_added_without_publishing_when_the_repository_is_left_empty(
    ha: HomeAssistant,
) -> None:
    step = await meter_form_done(ha)

    result = await ha.config_entries.flow.async_configure(step["flow_id"], {})
    await settle(ha)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_GITHUB_REPOSITORY not in result["options"]


async def test_the_publishing_step_checks_the_token_and_stores_the_settings(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    step = await meter_form_done(ha)

    result = await ha.config_entries.flow.async_configure(step["flow_id"], publishing_form(fake))
    await settle(ha)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_GITHUB_TOKEN: TOKEN}
    options = result["options"]
    assert CONF_GITHUB_TOKEN not in options
    assert options[CONF_PUBLISH_LEVELS] == ["monthly", "yearly"]
    assert options["github_branch"] == "main"
    assert options["publish_time"] == "00:05:00"
    assert fake.requests[0].path == "/repos/alice/energy"
    assert "manifest.json" in fake.repo.files()  # the first publish ran right away


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("wrong token", "invalid_auth"),
        ("missing repository", "repository_not_found"),
        ("read-only token", "no_push_permission"),
        ("token not authorized for single sign-on", "sso_required"),
        ("nothing listening", "cannot_connect"),
    ],
)
async def test_the_publishing_step_names_what_is_wrong(
    ha: HomeAssistant, fake: FakeGitHub, case: str, error: str
) -> None:
    form = publishing_form(fake)
    if case == "wrong token":
        form[CONF_GITHUB_TOKEN] = "ghp_wrong"
    elif case == "missing repository":
        form[CONF_GITHUB_REPOSITORY] = "alice/missing"
    elif case == "read-only token":
        fake.grant(TOKEN, "read")
    elif case == "token not authorized for single sign-on":
        fake.grant(TOKEN, "write", sso_pending=True)
    else:
        form[CONF_GITHUB_API_URL] = "http://127.0.0.1:9"
    step = await meter_form_done(ha)

    result = await ha.config_entries.flow.async_configure(step["flow_id"], form)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({CONF_GITHUB_REPOSITORY: "no-slash"}, CONF_GITHUB_REPOSITORY, "invalid_repository"),
        ({CONF_PUBLISH_INTERVAL: 5}, CONF_PUBLISH_INTERVAL, "interval_too_short"),
        ({CONF_GITHUB_TOKEN: ""}, CONF_GITHUB_TOKEN, "token_required"),
        # Copied with its neighbours: it would break (or add to) the request's headers.
        ({CONF_GITHUB_TOKEN: "ghp_abc\nX-Injected: 1"}, CONF_GITHUB_TOKEN, "token_malformed"),
        ({CONF_GITHUB_TOKEN: "Token: ghp_abc"}, CONF_GITHUB_TOKEN, "token_malformed"),
    ],
)
async def test_settings_github_would_refuse_are_named_without_asking_it(
    ha: HomeAssistant, fake: FakeGitHub, changes: dict[str, Any], field: str, error: str
) -> None:
    step = await meter_form_done(ha)

    result = await ha.config_entries.flow.async_configure(
        step["flow_id"], publishing_form(fake, **changes)
    )

    assert result["errors"] == {field: error}
    assert fake.requests == []


async def test_publishing_is_added_later_in_the_options(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    step = await meter_form_done(ha)
    created = await ha.config_entries.flow.async_configure(step["flow_id"], {})
    await settle(ha)
    entry = created["result"]

    init = await ha.config_entries.options.async_init(entry.entry_id)
    assert init["step_id"] == "init"
    done = await ha.config_entries.options.async_configure(
        init["flow_id"], publishing_form(fake, **{CONF_PUBLISH_LEVELS: ["daily", "yearly"]})
    )
    await settle(ha)

    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert entry.data[CONF_GITHUB_TOKEN] == TOKEN
    assert entry.options[CONF_PUBLISH_LEVELS] == ["daily", "yearly"]
    assert {"house/daily.json", "house/yearly.json"} <= set(fake.repo.files())
    assert "house/monthly.json" not in fake.repo.files()


async def test_leaving_the_token_empty_in_the_options_keeps_the_current_one(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)

    init = await ha.config_entries.options.async_init(entry.entry_id)
    assert TOKEN not in str(init)  # the form never carries the token back
    await ha.config_entries.options.async_configure(
        init["flow_id"], publishing_form(fake, **{CONF_GITHUB_TOKEN: ""})
    )
    await settle(ha)

    assert entry.data[CONF_GITHUB_TOKEN] == TOKEN


async def test_a_field_cleared_in_the_options_is_stored_empty_not_as_it_was(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake, publish_interval=60)

    init = await ha.config_entries.options.async_init(entry.entry_id)
    assert init["data_schema"] is not None
    shown = {str(key): key.description for key in init["data_schema"].schema}
    assert shown[CONF_PUBLISH_INTERVAL] == {"suggested_value": 60}
    # HA's form leaves a cleared field out of what it sends.
    await ha.config_entries.options.async_configure(init["flow_id"], publishing_form(fake))
    await settle(ha)

    assert entry.options[CONF_PUBLISH_INTERVAL] == 0


async def test_a_new_api_url_with_the_token_left_empty_asks_for_a_token_and_sends_none(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub, socket_enabled: None
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)
    async with FakeGitHub(token=TOKEN, repository=REPOSITORY) as elsewhere:
        init = await ha.config_entries.options.async_init(entry.entry_id)
        result = await ha.config_entries.options.async_configure(
            init["flow_id"],
            publishing_form(
                fake, **{CONF_GITHUB_TOKEN: "", CONF_GITHUB_API_URL: elsewhere.api_url}
            ),
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_GITHUB_TOKEN: "token_required"}
        assert elsewhere.requests == []  # the stored token never went to the new host

        elsewhere.grant(NEW_TOKEN)
        result = await ha.config_entries.options.async_configure(
            init["flow_id"],
            publishing_form(
                fake, **{CONF_GITHUB_TOKEN: NEW_TOKEN, CONF_GITHUB_API_URL: elsewhere.api_url}
            ),
        )
        await settle(ha)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert entry.data[CONF_GITHUB_TOKEN] == NEW_TOKEN
        assert entry.options[CONF_GITHUB_API_URL] == elsewhere.api_url
        assert elsewhere.requests
        assert all(TOKEN not in str(r.headers) for r in elsewhere.requests)


@pytest.mark.parametrize(
    ("api_url", "accepted"),
    [
        ("http://192.168.1.10/api/v3", False),
        ("http://github.example.com/api/v3", False),
        ("http://127.0.0.1:9/api/v3", True),
    ],
)
async def test_an_http_api_url_is_accepted_only_for_this_machine(
    ha: HomeAssistant, fake: FakeGitHub, api_url: str, accepted: bool
) -> None:
    step = await meter_form_done(ha)

    result = await ha.config_entries.flow.async_configure(
        step["flow_id"], publishing_form(fake, **{CONF_GITHUB_API_URL: api_url})
    )

    # Accepted: checked against GitHub (nothing listens there). Refused: named, never asked.
    errors = {"base": "cannot_connect"} if accepted else {CONF_GITHUB_API_URL: "invalid_api_url"}
    assert result["errors"] == errors


async def test_a_refused_token_starts_reauth_and_the_new_token_publishes_what_waited(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    fake.revoke(TOKEN)
    entry = await start_publishing_meter(ha, fake)
    assert publisher(ha, entry).state.problem == "invalid_auth"
    assert len(fake.requests) == 1  # bad credentials are not retried
    flows = ha.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]
    fake.grant(NEW_TOKEN)

    wrong = await ha.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_GITHUB_TOKEN: "ghp_still_wrong"}
    )
    assert wrong["errors"] == {"base": "invalid_auth"}
    sent = len(fake.requests)
    garbled = await ha.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_GITHUB_TOKEN: "ghp_\u200b" + NEW_TOKEN[4:]}
    )
    assert garbled["errors"] == {CONF_GITHUB_TOKEN: "token_malformed"}
    assert len(fake.requests) == sent
    result = await ha.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_GITHUB_TOKEN: NEW_TOKEN}
    )
    await settle(ha)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_GITHUB_TOKEN] == NEW_TOKEN
    assert "manifest.json" in fake.repo.files()
    assert publisher(ha, entry).state.problem is None


async def test_the_same_token_pasted_again_after_a_refusal_publishes_at_once(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    fake.revoke(TOKEN)
    entry = await start_publishing_meter(ha, fake)
    (flow,) = ha.config_entries.flow.async_progress_by_handler(DOMAIN)
    fake.grant(TOKEN)  # GitHub's refusal was a passing one

    result = await ha.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_GITHUB_TOKEN: TOKEN}
    )
    await settle(ha)

    assert result["reason"] == "reauth_successful"
    assert "manifest.json" in fake.repo.files()
    assert publisher(ha, entry).state.problem is None


async def test_a_refused_token_is_not_sent_again_when_the_entry_reloads(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    fake.revoke(TOKEN)
    entry = await start_publishing_meter(ha, fake)
    assert len(fake.requests) == 1

    for _ in range(3):
        assert await ha.config_entries.async_reload(entry.entry_id)
        await settle(ha)

    assert len(fake.requests) == 1  # GitHub refuses an account that retries bad credentials
    assert publisher(ha, entry).state.problem == "invalid_auth"
    flows = ha.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]


async def test_a_repository_fixed_in_the_options_publishes_at_once_and_drops_the_repair(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    fake.grant(TOKEN, "none")  # the token cannot see the repository named
    entry = await start_publishing_meter(ha, fake)
    issue_id = f"publish_repository_not_found_{entry.entry_id}"
    assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is not None
    fake.grant(TOKEN, "write")  # ... until the user gives it access, and says so below

    init = await ha.config_entries.options.async_init(entry.entry_id)
    done = await ha.config_entries.options.async_configure(
        init["flow_id"], publishing_form(fake, **{CONF_GITHUB_TOKEN: ""})
    )
    await settle(ha)

    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert ir.async_get(ha).async_get_issue(DOMAIN, issue_id) is None
    assert "manifest.json" in fake.repo.files()
    assert publisher(ha, entry).state.problem is None


@pytest.mark.parametrize("levels", [None, ["daily", "yearly"]])
async def test_settings_fixed_in_the_options_publish_at_once_with_or_without_a_reload(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub, levels: list[str] | None
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    fake.grant(TOKEN, "read")  # no permission to push
    entry = await start_publishing_meter(ha, fake)
    assert publisher(ha, entry).state.problem == "no_push_permission"
    fake.grant(TOKEN, "write")
    changes = {} if levels is None else {CONF_PUBLISH_LEVELS: levels}

    running = entry.runtime_data
    init = await ha.config_entries.options.async_init(entry.entry_id)
    await ha.config_entries.options.async_configure(
        init["flow_id"], publishing_form(fake, **{CONF_GITHUB_TOKEN: "", **changes})
    )
    await settle(ha)

    assert (entry.runtime_data is running) == (levels is None)  # reloaded for new settings
    assert "manifest.json" in fake.repo.files()
    assert publisher(ha, entry).state.problem is None


async def test_another_folder_gets_the_dataset_at_once_unless_it_holds_one_from_elsewhere(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)

    async def publish_to(folder: str) -> None:
        init = await ha.config_entries.options.async_init(entry.entry_id)
        await ha.config_entries.options.async_configure(
            init["flow_id"],
            publishing_form(fake, **{CONF_GITHUB_TOKEN: "", CONF_GITHUB_PATH: folder}),
        )
        await settle(ha)

    await publish_to("energy")
    assert "energy/manifest.json" in fake.repo.files()  # not only tonight

    await move_to(at(2026, 11, 26, 12, 10))  # new data: the root's manifest is now an old one
    await publish_to("")
    assert publisher(ha, entry).state.problem == "existing_data"


async def test_publishing_turned_off_leaves_only_the_maintenance_switch(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)
    registry = er.async_get(ha)

    def dataset_entities() -> list[str]:
        listed = er.async_entries_for_config_entry(registry, entry.entry_id)
        return sorted(e.entity_id for e in listed if e.config_subentry_id is None)

    assert len(dataset_entities()) == 4

    init = await ha.config_entries.options.async_init(entry.entry_id)
    await ha.config_entries.options.async_configure(
        init["flow_id"], publishing_form(fake, **{CONF_GITHUB_REPOSITORY: ""})
    )
    await settle(ha)

    assert dataset_entities() == ["switch.powerstats_maintenance"]


async def test_diagnostics_show_the_last_commit_and_never_the_token(
    ha: HomeAssistant, freezer: FrozenDateTimeFactory, fake: FakeGitHub
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    entry = await start_publishing_meter(ha, fake)

    diagnostics = await async_get_config_entry_diagnostics(ha, entry)

    head = fake.repo.head()
    assert diagnostics["publishing"]["last_commit_url"] == (
        f"{fake.root_url}/alice/energy/commit/{head}"
    )
    assert TOKEN not in str(diagnostics)
