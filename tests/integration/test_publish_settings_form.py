"""The publishing form refuses an interval or branch that no publish could use, in the form."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.powerstats.const import DOMAIN
from custom_components.powerstats.publish_settings import (
    CONF_GITHUB_API_URL,
    CONF_GITHUB_BRANCH,
    CONF_GITHUB_REPOSITORY,
    CONF_GITHUB_TOKEN,
    CONF_PUBLISH_INTERVAL,
    MAX_BRANCH_BYTES,
    async_validate,
)
from tests.fake_github import FakeGitHub

from .conftest import SOURCE, make_entry
from .publish_support import REPOSITORY, TOKEN, W, fake, no_write_pause

__all__ = ["fake", "no_write_pause"]  # fixtures used by name below


def publishing_form(fake: FakeGitHub, **changes: Any) -> dict[str, Any]:
    return {
        CONF_GITHUB_TOKEN: TOKEN,
        CONF_GITHUB_REPOSITORY: REPOSITORY,
        CONF_GITHUB_API_URL: fake.api_url,
        **changes,
    }


async def first_setup_step(hass: HomeAssistant) -> str:
    """The flow id of the config flow's publishing step, the meter's step done."""
    hass.states.async_set(SOURCE, "500", W)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"entity_id": SOURCE, "name": "House"}
    )
    assert result["step_id"] == "github"
    flow_id: str = result["flow_id"]
    return flow_id


async def submitted(hass: HomeAssistant, step: str, form: dict[str, Any]) -> dict[str, Any]:
    """The answer of the first-setup publishing step or of the options flow to `form`."""
    if step == "first setup":
        flow_id = await first_setup_step(hass)
        return dict(await hass.config_entries.flow.async_configure(flow_id, form))
    hass.states.async_set(SOURCE, "500", W)
    entry = make_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    init = await hass.config_entries.options.async_init(entry.entry_id)
    return dict(await hass.config_entries.options.async_configure(init["flow_id"], form))


@pytest.mark.parametrize("step", ["first setup", "options"])
@pytest.mark.parametrize("interval", ["nan", float("nan"), "NaN"])
async def test_an_interval_that_is_no_number_is_named_in_the_form_not_an_unknown_error(
    ha: HomeAssistant, fake: FakeGitHub, step: str, interval: Any
) -> None:
    # The number selector lets NaN through: no comparison with its bounds is true.
    result = await submitted(ha, step, publishing_form(fake, **{CONF_PUBLISH_INTERVAL: interval}))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_PUBLISH_INTERVAL: "interval_invalid"}
    assert fake.requests == []


@pytest.mark.parametrize("interval", [float("inf"), float("-inf"), -10, 1441, "ten"])
async def test_an_interval_beyond_the_selector_bounds_is_refused_when_it_comes_anyway(
    hass: HomeAssistant, interval: Any
) -> None:
    form = {CONF_GITHUB_REPOSITORY: REPOSITORY, CONF_PUBLISH_INTERVAL: interval}

    checked = await async_validate(hass, form, {}, None)

    assert checked.errors[CONF_PUBLISH_INTERVAL] == "interval_invalid"


@pytest.mark.parametrize("step", ["first setup", "options"])
async def test_a_branch_longer_than_github_takes_is_named_in_the_form_without_asking_it(
    ha: HomeAssistant, fake: FakeGitHub, step: str
) -> None:
    branch = "b" * (MAX_BRANCH_BYTES + 1)

    result = await submitted(ha, step, publishing_form(fake, **{CONF_GITHUB_BRANCH: branch}))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_GITHUB_BRANCH: "branch_too_long"}
    assert fake.requests == []


@pytest.mark.parametrize(
    ("branch", "error"),
    [
        ("b" * 244, None),  # "refs/heads/" and these are GitHub's 255 bytes
        ("b" * 245, "branch_too_long"),
        ("é" * 122, None),  # 244 bytes of UTF-8
        ("é" * 123, "branch_too_long"),  # 123 characters, but 246 bytes
        ("energy-\ud800", "invalid_branch"),  # a lone surrogate sent as JSON: no UTF-8 at all
    ],
)
async def test_the_branch_is_measured_in_the_bytes_github_counts(
    hass: HomeAssistant, branch: str, error: str | None
) -> None:
    form = {CONF_GITHUB_REPOSITORY: REPOSITORY, CONF_GITHUB_BRANCH: branch}

    checked = await async_validate(hass, form, {}, None)

    assert checked.errors.get(CONF_GITHUB_BRANCH) == error
    assert checked.errors[CONF_GITHUB_TOKEN] == "token_required"  # so nothing was sent
