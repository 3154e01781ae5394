"""Diagnostics of the dataset: useful for a bug report, with nothing secret in it."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
)
from pytest_homeassistant_custom_component.syrupy import (  # type: ignore[import-untyped]
    HomeAssistantSnapshotExtension,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.powerstats.diagnostics import async_get_config_entry_diagnostics
from custom_components.powerstats.meter import PowerStatsMeter

# HA's diagnostics endpoint imports the Supervisor client, which does not import in this test
# environment; the integration's own diagnostics function is what that endpoint calls.
from .conftest import SOURCE, Clock, at, make_entry, meter_subentry


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


async def test_diagnostics_of_a_dataset_not_running_show_its_settings_and_why(
    ha: HomeAssistant,
) -> None:
    # HA's frontend offers the download for a loaded entry only; its API serves any.
    ha.states.async_set(SOURCE, "250", {"unit_of_measurement": "W"})
    entry = make_entry(options={"github_token": "ghp_secret", "price_mode": "fixed", "price": 0.3})
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    assert await ha.config_entries.async_unload(entry.entry_id)

    diagnostics = await async_get_config_entry_diagnostics(ha, entry)

    assert diagnostics["state"] == ConfigEntryState.NOT_LOADED.value
    assert diagnostics["reason"] is None
    assert diagnostics["meters"]["house"]["settings"]["price"] == 0.3
    assert diagnostics["entry"]["data"] == {"github_token": "**REDACTED**"}
    assert "ghp_secret" not in repr(diagnostics)


async def test_diagnostics_of_a_dataset_that_failed_to_start_name_the_error(
    ha: HomeAssistant,
) -> None:
    ha.states.async_set(SOURCE, "250", {"unit_of_measurement": "W"})
    entry = make_entry()
    entry.add_to_hass(ha)
    with patch.object(PowerStatsMeter, "async_start", side_effect=RuntimeError("broken")):
        assert not await ha.config_entries.async_setup(entry.entry_id)

    diagnostics = await async_get_config_entry_diagnostics(ha, entry)

    assert diagnostics["state"] == ConfigEntryState.SETUP_ERROR.value
    assert "broken" in diagnostics["reason"]
    assert list(diagnostics["meters"]) == ["house"]


# HA cannot unload the dataset after that: its timers are still there when the test ends.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_diagnostics_of_a_dataset_running_on_with_a_meter_removed(
    ha: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    ha.states.async_set(SOURCE, "250", {"unit_of_measurement": "W"})
    ha.states.async_set("sensor.solar", "-300", {"unit_of_measurement": "W"})
    entry = make_entry(meters=[meter_subentry(), meter_subentry("sensor.solar", "Solar", "solar")])
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    unload = ha.config_entries.async_forward_entry_unload

    async def switch_stays(unloading: MockConfigEntry, platform: Platform | str) -> bool:
        return False if platform == Platform.SWITCH else await unload(unloading, platform)

    monkeypatch.setattr(ha.config_entries, "async_forward_entry_unload", switch_stays)
    # Removed, and the restart without it fails to unload: the dataset runs on with it.
    assert ha.config_entries.async_remove_subentry(entry, "subentry_solar")
    await ha.async_block_till_done()
    assert entry.state is ConfigEntryState.FAILED_UNLOAD

    diagnostics = await async_get_config_entry_diagnostics(ha, entry)

    assert diagnostics["state"] == ConfigEntryState.FAILED_UNLOAD.value
    assert diagnostics["meters"]["solar"]["settings"] is None
    assert diagnostics["meters"]["solar"]["entity_id"] == "sensor.solar"
    assert diagnostics["meters"]["house"]["settings"]["entity_id"] == SOURCE
