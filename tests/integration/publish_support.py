"""Shared set-up of the publishing tests: a fake GitHub, a meter that publishes, quick steps."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped]

from custom_components.powerstats.publish_settings import (
    CONF_GITHUB_API_URL,
    CONF_GITHUB_BRANCH,
    CONF_GITHUB_PATH,
    CONF_GITHUB_REPOSITORY,
    CONF_GITHUB_TOKEN,
    CONF_PUBLISH_INTERVAL,
    CONF_PUBLISH_LEVELS,
    CONF_PUBLISH_TIME,
)
from custom_components.powerstats.publisher import Publisher
from custom_components.powerstats.runtime import loaded_entry
from tests.fake_github import FakeGitHub

from .conftest import SOURCE, make_entry

TOKEN = "ghp_publish_test_token_0123456789abcdef"
REPOSITORY = "alice/energy"
W = {"unit_of_measurement": "W"}


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncIterator[FakeGitHub]:
    """A fake GitHub with an empty repository alice/energy that TOKEN may write to."""
    async with FakeGitHub(token=TOKEN, repository=REPOSITORY) as server:
        yield server


@pytest.fixture(autouse=True)
def no_write_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub wants 1 s between writes; the fake does not, and tests do not wait for wall time."""
    monkeypatch.setattr(Publisher, "write_interval", 0.0)


def github_options(fake: FakeGitHub, **changes: Any) -> dict[str, Any]:
    """Publishing options as the options flow stores them."""
    return {
        CONF_GITHUB_TOKEN: TOKEN,
        CONF_GITHUB_REPOSITORY: REPOSITORY,
        CONF_GITHUB_BRANCH: "main",
        CONF_GITHUB_PATH: "",
        CONF_GITHUB_API_URL: fake.api_url,
        CONF_PUBLISH_LEVELS: ["monthly", "yearly"],
        CONF_PUBLISH_TIME: "00:05:00",
        CONF_PUBLISH_INTERVAL: 0,
        **changes,
    }


async def settle(hass: HomeAssistant) -> None:
    """Let every task finish, publishes (background tasks) included."""
    await hass.async_block_till_done(wait_background_tasks=True)


async def start_publishing_meter(
    hass: HomeAssistant, fake: FakeGitHub, *, entry_id: str | None = None, **changes: Any
) -> MockConfigEntry:
    """Add the House meter with publishing set up and wait for its start-up publish."""
    hass.states.async_set(SOURCE, "500", W)
    entry = make_entry(options=github_options(fake, **changes), entry_id=entry_id)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)
    assert entry.state is ConfigEntryState.LOADED
    return entry


def publisher(hass: HomeAssistant, entry: MockConfigEntry) -> Publisher:
    """The dataset's publisher."""
    found: Publisher = entry.runtime_data.publisher
    return found


def local_files(hass: HomeAssistant) -> dict[str, bytes]:
    """Every file the integration rendered, by relative path."""
    entry = loaded_entry(hass)
    assert entry is not None
    return {path: served.data for path, served in entry.runtime_data.writer.files.items()}


def manifest_of(files: dict[str, bytes]) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(files["manifest.json"])
    return manifest


def state_of(hass: HomeAssistant, entity_id: str) -> State:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state
