"""The calls to Home Assistant's REST API behind the admin page's actions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from luckfox_agent.config import Config, load
from luckfox_agent.ha import HaError, publish_now, set_maintenance

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
