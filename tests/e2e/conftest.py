"""Fixtures for the end-to-end tests: real hass, fake GitHub and agent processes on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.homeassistant_process import (
    HomeAssistantProcess,
    Tokens,
    onboard,
    wait_until_running,
)
from tests.e2e.processes import FakeGitHubProcess


@pytest.fixture
def fake_github() -> Iterator[FakeGitHubProcess]:
    """A fake GitHub whose repository already holds one commit (as a user's new repo does)."""
    github = FakeGitHubProcess()
    github.start()
    yield github
    github.stop()


@pytest.fixture
def home_assistant(tmp_path: Path) -> Iterator[HomeAssistantProcess]:
    """A Home Assistant process (not started: each test picks its clock)."""
    ha = HomeAssistantProcess(config=tmp_path / "ha")
    yield ha
    ha.stop()
    assert not blocking_calls(ha)


def blocking_calls(ha: HomeAssistantProcess) -> list[str]:
    """The lines of HA's log where its detector names PowerStats for blocking its event loop."""
    return [
        line
        for line in ha.log().splitlines()
        if "Detected blocking call" in line and "powerstats" in line
    ]


def started(ha: HomeAssistantProcess, **kwargs: object) -> Tokens:
    """Start `ha`, log in as its demo user, and wait until HA has finished starting."""
    ha.start(**kwargs)  # type: ignore[arg-type]
    tokens = onboard(ha.url)
    wait_until_running(ha.url, tokens.access_token, time.monotonic() + 600)
    return tokens
