"""Diagnostics of the dataset: useful for a bug report, with nothing secret in it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.syrupy import (  # type: ignore[import-untyped]
    HomeAssistantSnapshotExtension,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.powerstats.diagnostics import async_get_config_entry_diagnostics

# HA's diagnostics endpoint imports the Supervisor client, which does not import in this test
# environment; the integration's own diagnostics function is what that endpoint calls.
from .conftest import SOURCE, Clock, at, make_entry


@pytest.fixture(autouse=True)
def start_clock(freezer: FrozenDateTimeFactory) -> None:
    """Every test starts on the same night."""
    freezer.move_to(at(2026, 11, 26, 0, 0))


async def test_diagnostics_show_every_meter_and_its_history(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    snapshot: SnapshotAssertion,
) -> None:
    start = at(2026, 11, 26, 0, 0)
    freezer.move_to(start)
    ha.states.async_set(SOURCE, "250", {"unit_of_measurement": "W"})
    entry = make_entry(
        options={"price_mode": "fixed", "price": 0.3, "levels": ["monthly", "yearly"]},
        entry_id="01JPOWERSTATSHOUSE0000000000",
    )
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await move_to(start + timedelta(hours=1))
    diagnostics = await async_get_config_entry_diagnostics(ha, entry)
    assert diagnostics["meters"]["house"]["priced"] is True
    assert diagnostics == snapshot.use_extension(HomeAssistantSnapshotExtension)


async def test_diagnostics_never_show_a_token(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
) -> None:
    freezer.move_to(at(2026, 11, 26, 0, 0))
    ha.states.async_set(SOURCE, "250", {"unit_of_measurement": "W"})
    entry = make_entry(options={"token": "ghp_secret", "github_token": "ghp_secret2"})
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    diagnostics = await async_get_config_entry_diagnostics(ha, entry)
    assert "ghp_secret" not in repr(diagnostics)


async def test_the_running_dataset_keeps_its_token_out_of_its_repr(ha: HomeAssistant) -> None:
    # A debug line, a failed assertion or a traceback that prints the dataset must not show it.
    ha.states.async_set(SOURCE, "250", {"unit_of_measurement": "W"})
    entry = make_entry(options={"github_token": "ghp_secret_in_data"})
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    assert "ghp_secret_in_data" not in repr(entry.runtime_data)
