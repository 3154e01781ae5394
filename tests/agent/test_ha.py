"""The calls to Home Assistant's REST API behind the admin page's actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from luckfox_agent.config import Config, load
from luckfox_agent.ha import MAX_REASON, HaError, publish_now, set_maintenance

from .conftest import TOKEN, Source, write_config

ACTIONS: dict[str, Callable[[Config], None]] = {
    "publish": publish_now,
    "maintenance": lambda config: set_maintenance(config, True),
}


@pytest.mark.parametrize("action", ACTIONS.values(), ids=ACTIONS.keys())
def test_a_token_http_cannot_carry_fails_the_action_saying_why_without_showing_it(
    tmp_path: Path, source: Source, action: Callable[[Config], None]
) -> None:
    # The config refuses such a token when it is read; one that comes another way must still
    # end as the action's failure on the admin page, not as a 500.
    config = load(str(write_config(tmp_path, source)))
    config.source_token = f"{TOKEN}\N{ZERO WIDTH SPACE}"
    with pytest.raises(HaError) as failure:
        action(config)
    assert "cannot send header Authorization: it holds the character U+200B" in str(failure.value)
    assert TOKEN not in str(failure.value)
    assert source.hits == []
    assert source.services == []


def test_a_call_that_cannot_be_sent_says_so_and_names_the_setting_to_fix(
    tmp_path: Path, source: Source
) -> None:
    config = load(str(write_config(tmp_path, source)))
    config.source_token = f"{TOKEN}\N{ZERO WIDTH SPACE}"
    with pytest.raises(HaError) as failure:
        publish_now(config)
    message = str(failure.value)
    assert message.startswith("the call to Home Assistant was not sent: cannot send header")
    assert message.endswith("; fix [source] token")
    assert "not reachable" not in message, "HA was never asked"
    assert TOKEN not in message


REASON = "only an administrator can replace the PowerStats files already published"
REFUSALS = {
    "ServiceValidationError, 400": (400, f"Home Assistant refused powerstats.publish: {REASON}"),
    "HomeAssistantError, 500": (
        500,
        f"powerstats.publish failed in Home Assistant (HTTP 500): {REASON}",
    ),
}


@pytest.mark.parametrize(("status", "shown"), REFUSALS.values(), ids=REFUSALS.keys())
def test_the_reason_ha_gives_for_failing_an_action_is_shown(
    tmp_path: Path, source: Source, status: int, shown: str
) -> None:
    source.action_failure = (status, json.dumps({"message": REASON}).encode())
    with pytest.raises(HaError) as failure:
        publish_now(load(str(write_config(tmp_path, source))))
    assert str(failure.value) == shown


def test_the_reason_ha_gives_is_shown_without_control_characters_or_the_token_and_cut_short(
    tmp_path: Path, source: Source
) -> None:
    # The token straddles the cut: scrubbed after it, its first part would be shown.
    hostile = "one\r\ntwo\x1b[31m\u202e " + "x" * (MAX_REASON - 30) + TOKEN + "y" * 500
    source.action_failure = (400, json.dumps({"message": hostile}).encode())
    with pytest.raises(HaError) as failure:
        publish_now(load(str(write_config(tmp_path, source))))
    prefix = "Home Assistant refused powerstats.publish: "
    message = str(failure.value)
    assert message.startswith(f"{prefix}one two [31m xxx")
    assert "x[redacted]yyy" in message
    assert message.endswith("y...")
    assert len(message) == len(prefix) + MAX_REASON
    assert all(char.isprintable() for char in message)
    assert TOKEN[:8] not in message


# HA 2025.4 answers an action that raised ServiceValidationError (publish during maintenance)
# with a 500 and no reason: nothing at all, or aiohttp's own text.
BARE_500 = {"no body": b"", "aiohttp's text": b"500 Internal Server Error\n\nServer got itself"}


@pytest.mark.parametrize("body", BARE_500.values(), ids=BARE_500.keys())
def test_a_500_without_a_reason_says_ha_refused_and_where_to_read_why(
    tmp_path: Path, source: Source, body: bytes
) -> None:
    source.action_failure = (500, body)
    with pytest.raises(HaError) as failure:
        publish_now(load(str(write_config(tmp_path, source))))
    assert str(failure.value) == (
        "Home Assistant refused powerstats.publish without giving a reason (HTTP 500); read it "
        "in Home Assistant's log (Settings > System > Logs) or on the PowerStats device page "
        "(Settings > Devices & services > PowerStats)"
    )


def test_another_status_without_a_reason_is_named_as_it_came(
    tmp_path: Path, source: Source
) -> None:
    # A 502 comes from a proxy in front of HA, not from HA refusing the action.
    source.action_failure = (502, b"")
    with pytest.raises(HaError) as failure:
        publish_now(load(str(write_config(tmp_path, source))))
    assert str(failure.value) == "Home Assistant answered HTTP 502 to powerstats.publish"
