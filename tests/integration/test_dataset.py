"""One PowerStats, many meters: from the first meter to a third, one publish, one removal."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component

from custom_components.powerstats.const import DOMAIN, meter_store_key
from custom_components.powerstats.publish_settings import (
    CONF_GITHUB_API_URL,
    CONF_GITHUB_REPOSITORY,
    CONF_GITHUB_TOKEN,
)
from tests.fake_github import FakeGitHub

from .conftest import SOURCE, Clock, at, device_named, make_entry, meter_subentry, read_file
from .publish_support import (
    REPOSITORY,
    TOKEN,
    W,
    fake,
    local_files,
    manifest_of,
    no_write_pause,
    publisher,
    settle,
    state_of,
)

__all__ = ["fake", "no_write_pause"]  # fixtures used by name below

METERS = {"house": SOURCE, "solar": "sensor.solar_power", "grid": "sensor.grid_energy"}


async def first_meter_with_publishing(hass: HomeAssistant, fake: FakeGitHub) -> Any:
    """The config flow: the House meter, then publishing to the fake GitHub."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"entity_id": SOURCE, "name": "House", "backfill": False}
    )
    assert result["step_id"] == "github"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_GITHUB_TOKEN: TOKEN,
            CONF_GITHUB_REPOSITORY: REPOSITORY,
            CONF_GITHUB_API_URL: fake.api_url,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await settle(hass)
    return result["result"]


async def add_meter(hass: HomeAssistant, entry: Any, entity_id: str, name: str) -> list[str]:
    """Add a meter through the `meter` subentry flow; returns the steps it showed."""
    steps = []
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "meter"), context={"source": config_entries.SOURCE_USER}
    )
    while result["type"] is FlowResultType.FORM:
        steps.append(result["step_id"])
        answers: dict[str, Any] = (
            {"entity_id": entity_id, "name": name, "backfill": False}
            if result["step_id"] == "user"
            else {"price_mode": "none", "levels": ["daily", "weekly", "monthly", "yearly"]}
        )
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], answers)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await settle(hass)
    return steps


def subentry_id_of(entry: Any, meter_id: str) -> str:
    found: str = next(s.subentry_id for s in entry.subentries.values() if s.unique_id == meter_id)
    return found


async def test_one_dataset_publishes_three_meters_in_one_commit_and_forgets_a_removed_one(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    fake: FakeGitHub,
    hass_storage: dict[str, Any],
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "500", W)
    ha.states.async_set("sensor.solar_power", "-800", W)
    ha.states.async_set("sensor.grid_energy", "1234.5", {"unit_of_measurement": "kWh"})

    entry = await first_meter_with_publishing(ha, fake)
    assert [s.unique_id for s in entry.subentries.values()] == ["house"]
    second = await ha.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert second["type"] is FlowResultType.ABORT
    assert second["reason"] == "single_instance_allowed"

    assert await add_meter(ha, entry, "sensor.solar_power", "Solar") == ["user", "settings"]
    assert await add_meter(ha, entry, "sensor.grid_energy", "Grid") == ["user", "settings"]

    devices = dr.async_get(ha)
    entities = er.async_get(ha)
    for meter_id in METERS:
        subentry_id = subentry_id_of(entry, meter_id)
        device = device_named(ha, subentry_id)
        assert device is not None, meter_id
        assert state_of(ha, f"sensor.{meter_id}_energy_today").state is not None
        registered = entities.async_get(f"sensor.{meter_id}_energy_today")
        assert registered is not None
        assert registered.config_subentry_id == subentry_id
        assert registered.device_id == device.id
    manifest = json.loads(await read_file(ha, "powerstats/manifest.json"))
    assert sorted(m["id"] for m in manifest["meters"]) == sorted(METERS)

    # One publish: one commit holding every meter's files and a manifest listing them all.
    await move_to(at(2026, 11, 26, 12, 10))
    commits = len(fake.repo.history())
    await ha.services.async_call(DOMAIN, "publish", {}, blocking=True)
    await settle(ha)
    assert len(fake.repo.history()) == commits + 1
    published = fake.repo.files()
    assert sorted(m["id"] for m in manifest_of(published)["meters"]) == sorted(METERS)
    for meter_id in METERS:
        assert published[f"{meter_id}/yearly.json"] == local_files(ha)[f"{meter_id}/yearly.json"]

    # Maintenance holds the whole dataset, and says so in the local manifest.
    answer = await ha.services.async_call(
        DOMAIN, "set_maintenance", {"enabled": True}, blocking=True, return_response=True
    )
    assert answer == {"maintenance": True}
    await settle(ha)
    assert state_of(ha, "switch.powerstats_maintenance").state == "on"
    assert json.loads(local_files(ha)["manifest.json"])["maintenance"] is True
    ha.states.async_set("sensor.solar_power", "-1200", W)
    await move_to(at(2026, 11, 26, 12, 20))
    fake.clear_log()
    with pytest.raises(ServiceValidationError) as paused:
        await ha.services.async_call(DOMAIN, "publish", {}, blocking=True)
    assert paused.value.translation_key == "publish_paused"
    await settle(ha)
    assert fake.requests == []
    answer = await ha.services.async_call(
        DOMAIN, "set_maintenance", {"enabled": False}, blocking=True, return_response=True
    )
    assert answer == {"maintenance": False}
    await settle(ha)
    assert fake.repo.files()["solar/yearly.json"] == local_files(ha)["solar/yearly.json"]
    assert manifest_of(fake.repo.files())["maintenance"] is False

    # Removing the Grid meter removes its device, entities, store, files and manifest entry.
    grid = subentry_id_of(entry, "grid")
    grid_device = device_named(ha, grid)
    assert grid_device is not None
    kept = {k: v for k, v in local_files(ha).items() if not k.startswith(("grid/", "manifest"))}
    assert meter_store_key(grid) in hass_storage
    assert ha.config_entries.async_remove_subentry(entry, grid)
    await settle(ha)
    assert devices.async_get(grid_device.id) is None
    assert entities.async_get("sensor.grid_energy_today") is None
    assert meter_store_key(grid) not in hass_storage
    assert not await ha.async_add_executor_job(Path(ha.config.path("powerstats/grid")).exists)
    manifest = json.loads(await read_file(ha, "powerstats/manifest.json"))
    assert sorted(m["id"] for m in manifest["meters"]) == ["house", "solar"]
    # The others are untouched: same files, same stores, same devices and entities.
    assert {k: v for k, v in local_files(ha).items() if k != "manifest.json"} == kept
    for meter_id in ("house", "solar"):
        subentry_id = subentry_id_of(entry, meter_id)
        assert meter_store_key(subentry_id) in hass_storage
        assert device_named(ha, subentry_id) is not None
        assert state_of(ha, f"sensor.{meter_id}_energy_today").state != "unavailable"
    assert publisher(ha, entry).enabled
    assert await ha.config_entries.async_unload(entry.entry_id)


async def test_set_maintenance_before_powerstats_is_set_up_names_the_problem(
    ha: HomeAssistant,
) -> None:
    assert await async_setup_component(ha, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as err:
        await ha.services.async_call(
            DOMAIN, "set_maintenance", {"enabled": True}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "not_set_up"


async def test_a_meter_removed_while_powerstats_was_not_running_is_forgotten_at_the_next_start(
    ha: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    move_to: Clock,
    hass_storage: dict[str, Any],
) -> None:
    freezer.move_to(at(2026, 11, 26, 12, 0))
    ha.states.async_set(SOURCE, "500", W)
    ha.states.async_set("sensor.solar_power", "-800", W)
    entry = make_entry(
        meters=[meter_subentry(), meter_subentry("sensor.solar_power", "Solar", "solar")]
    )
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await move_to(at(2026, 11, 26, 12, 10))
    assert await ha.config_entries.async_unload(entry.entry_id)
    storage = Path(ha.config.path(".storage"))
    left = [storage / "powerstats.subentry_solar.journal", Path(ha.config.path("powerstats/solar"))]
    assert all([await ha.async_add_executor_job(path.exists) for path in left])
    assert meter_store_key("subentry_solar") in hass_storage

    # Not a meter's: a folder holding a folder, a store set aside as unreadable.
    others = [Path(ha.config.path("powerstats/mine/notes")), storage / "powerstats.x.corrupt"]
    await ha.async_add_executor_job(partial(others[0].mkdir, parents=True))
    await ha.async_add_executor_job(others[1].write_text, "{}")

    # Removed while PowerStats is disabled (or failed to start): nothing runs to hear it.
    assert ha.config_entries.async_remove_subentry(entry, "subentry_solar")
    await settle(ha)
    assert await ha.async_add_executor_job(left[1].exists)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await settle(ha)

    assert meter_store_key("subentry_solar") not in hass_storage
    assert not any([await ha.async_add_executor_job(path.exists) for path in left])
    assert all([await ha.async_add_executor_job(path.exists) for path in others])
    # The meter that stays keeps everything.
    assert meter_store_key("subentry_house") in hass_storage
    assert await ha.async_add_executor_job(Path(ha.config.path("powerstats/house")).is_dir)
    manifest = json.loads(await read_file(ha, "powerstats/manifest.json"))
    assert [m["id"] for m in manifest["meters"]] == ["house"]
    assert await ha.config_entries.async_unload(entry.entry_id)
