"""`powerstats.restore` as an action: how its fields are read (the restoring: test_restore.py)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from custom_components.powerstats.meter import PowerStatsMeter

from .test_restore import house, in_config, published, restore

__all__ = ["house"]  # the fixture of a fresh Home Assistant tracking the house


async def test_an_empty_list_of_meters_restores_every_meter_like_no_list(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    response = await restore(ha, source=in_config(ha, published()), meters=[])
    assert list(response["meters"]) == ["house"]
    assert any(part["added"] for part in response["meters"]["house"].values())
