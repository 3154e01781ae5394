"""The flows of the dataset and its meters: the first meter, Add meter, reconfigure, every error."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped]

from custom_components.powerstats.const import DOMAIN

from .conftest import HOUSE, SOURCE, device_named, make_entry, meter_of, meter_subentry

W = {"unit_of_measurement": "W"}
ALL_LEVELS = ["daily", "weekly", "monthly", "yearly"]
NO_PRICE = {"price_mode": "none", "levels": ALL_LEVELS}


@pytest.fixture(autouse=True)
def sensors(ha: HomeAssistant) -> None:
    """A few sensors to pick from."""
    ha.states.async_set(SOURCE, "512.5", W)
    ha.states.async_set("sensor.grid_energy", "12345.6", {"unit_of_measurement": "kWh"})
    ha.states.async_set("sensor.solar", "-300", W)
    ha.states.async_set("sensor.temperature", "21.5", {"unit_of_measurement": "°C"})
    ha.states.async_set("sensor.offline_power", "unavailable", W)
    ha.states.async_set("sensor.garbled_power", "n/a", W)
    ha.states.async_set("sensor.price", "0.27", {"unit_of_measurement": "EUR/kWh"})
    ha.states.async_set("sensor.price_offline", "unknown", {})
    ha.states.async_set("sensor.price_cents", "27.5", {"unit_of_measurement": "ct/kWh"})
    ha.states.async_set("sensor.price_dollars", "0.31", {"unit_of_measurement": "USD/kWh"})


async def first_flow(hass: HomeAssistant, entity_id: str, name: str = "House") -> dict[str, Any]:
    """The config flow up to its end, publishing skipped (an empty repository)."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    if result["type"] is not FlowResultType.FORM:
        return dict(result)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"entity_id": entity_id, "name": name}
    )
    if result.get("step_id") == "github":
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    return dict(result)


async def add_meter_flow(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    entity_id: str,
    name: str,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Add meter flow: sensor and name, then price and files."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "meter"), context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"entity_id": entity_id, "name": name, "backfill": False}
    )
    if result.get("step_id") == "settings":
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], settings or NO_PRICE
        )
    await hass.async_block_till_done()  # a new meter reloads the entry
    return dict(result)


@pytest.fixture
async def loaded(ha: HomeAssistant) -> MockConfigEntry:
    """PowerStats with its House meter, loaded."""
    entry = make_entry(options={"backfill": False})
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await ha.async_block_till_done()
    return entry


# -- the first meter ------------------------------------------------------------------------------


async def test_the_first_flow_creates_one_entry_with_its_first_meter_as_a_subentry(
    ha: HomeAssistant,
) -> None:
    result = await first_flow(ha, SOURCE, "Main House")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "PowerStats"
    await ha.async_block_till_done()
    (entry,) = ha.config_entries.async_entries(DOMAIN)
    assert entry.data == {}
    assert entry.options == {}
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == "meter"
    assert subentry.title == "Main House"
    assert subentry.unique_id == "main_house"
    assert subentry.data == {
        "entity_id": SOURCE,
        "name": "Main House",
        "meter_id": "main_house",
        "kind": "power",
        "backfill": True,
        "stored": True,
    }
    assert entry.state is ConfigEntryState.LOADED
    assert await ha.config_entries.async_unload(entry.entry_id)


async def test_an_energy_sensor_becomes_an_energy_meter(ha: HomeAssistant) -> None:
    await first_flow(ha, "sensor.grid_energy", "Grid")
    (entry,) = ha.config_entries.async_entries(DOMAIN)
    (subentry,) = entry.subentries.values()
    assert subentry.data["kind"] == "energy"
    assert await ha.config_entries.async_unload(entry.entry_id)


async def test_a_sensor_offline_right_now_can_become_a_meter(
    ha: HomeAssistant,
) -> None:
    await first_flow(ha, "sensor.offline_power", "Solar")
    (entry,) = ha.config_entries.async_entries(DOMAIN)
    (subentry,) = entry.subentries.values()
    assert subentry.data["kind"] == "power"
    assert entry.state is ConfigEntryState.LOADED
    assert await ha.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("entity_id", "error"),
    [
        ("sensor.does_not_exist", "entity_not_found"),
        ("sensor.temperature", "unsupported_unit"),
        ("sensor.garbled_power", "not_numeric"),
    ],
)
async def test_an_unusable_sensor_is_refused_in_the_form(
    ha: HomeAssistant, entity_id: str, error: str
) -> None:
    result = await first_flow(ha, entity_id)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"entity_id": error}


async def test_an_empty_name_is_refused_in_the_form(ha: HomeAssistant) -> None:
    result = await first_flow(ha, SOURCE, "   ")
    assert result["errors"] == {"name": "name_required"}


async def test_a_name_longer_than_the_files_may_carry_is_refused_in_the_form(
    ha: HomeAssistant,
) -> None:
    # The data contract allows 100 characters: a longer name made a manifest the board refuses.
    result = await first_flow(ha, SOURCE, "Ä" * 101)
    assert result["errors"] == {"name": "name_too_long"}
    result = await first_flow(ha, SOURCE, " " + "Ä" * 100 + " ")
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("name", ["\u200b", " \ufeff\u200b ", "\u2060"])
async def test_a_name_of_nothing_visible_is_refused_in_the_form(
    ha: HomeAssistant, name: str
) -> None:
    # Zero-width and other format characters are not stripped, but show as a blank name.
    result = await first_flow(ha, SOURCE, name)
    assert result["errors"] == {"name": "name_required"}


@pytest.mark.parametrize("name", ["House\npower", "House\tpower", "House\x00", "\x1b[31mHouse"])
async def test_a_name_with_a_control_character_is_refused_in_the_form(
    ha: HomeAssistant, name: str
) -> None:
    result = await first_flow(ha, SOURCE, name)
    assert result["errors"] == {"name": "name_invalid"}


async def test_a_second_powerstats_flow_aborts(ha: HomeAssistant) -> None:
    make_entry().add_to_hass(ha)
    result = await first_flow(ha, "sensor.grid_energy", "Grid")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"


# -- Add meter ------------------------------------------------------------------------------------


async def test_add_meter_asks_for_the_sensor_then_price_and_files_never_for_github(
    ha: HomeAssistant, loaded: MockConfigEntry
) -> None:
    steps: list[str] = []
    result = await ha.config_entries.subentries.async_init(
        (loaded.entry_id, "meter"), context={"source": config_entries.SOURCE_USER}
    )
    steps.append(result["step_id"])
    result = await ha.config_entries.subentries.async_configure(
        result["flow_id"], {"entity_id": "sensor.grid_energy", "name": "Grid", "backfill": False}
    )
    steps.append(result["step_id"])
    result = await ha.config_entries.subentries.async_configure(
        result["flow_id"], {"price_mode": "fixed", "price": 0.31, "levels": ["monthly", "yearly"]}
    )
    assert steps == ["user", "settings"]
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await ha.async_block_till_done()
    grid = next(s for s in loaded.subentries.values() if s.title == "Grid")
    assert grid.unique_id == "grid"
    assert dict(grid.data) == {
        "entity_id": "sensor.grid_energy",
        "name": "Grid",
        "meter_id": "grid",
        "kind": "energy",
        "backfill": False,
        "price_mode": "fixed",
        "price": 0.31,
        "levels": ["monthly", "yearly"],
        "stored": True,
    }
    assert meter_of(loaded, "grid").config.levels == ("monthly", "yearly")


async def test_a_meter_with_the_same_name_gets_a_unique_id(
    ha: HomeAssistant, loaded: MockConfigEntry
) -> None:
    result = await add_meter_flow(ha, loaded, "sensor.solar", "House")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == "house_2"
    assert result["data"]["meter_id"] == "house_2"


async def meter_flow_at_settings(
    hass: HomeAssistant, entry: MockConfigEntry, entity_id: str, name: str
) -> str:
    """An Add meter dialog left open at its price and files step; returns its flow id."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "meter"), context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"entity_id": entity_id, "name": name, "backfill": False}
    )
    assert result["step_id"] == "settings"
    return str(result["flow_id"])


async def test_two_add_meter_dialogs_at_once_never_make_two_meters_of_one_sensor_or_id(
    ha: HomeAssistant, loaded: MockConfigEntry
) -> None:
    first = await meter_flow_at_settings(ha, loaded, "sensor.solar", "Solar")
    same_sensor = await meter_flow_at_settings(ha, loaded, "sensor.solar", "Roof")
    same_name = await meter_flow_at_settings(ha, loaded, "sensor.grid_energy", "Solar")
    configure = ha.config_entries.subentries.async_configure

    created = await configure(first, NO_PRICE)
    refused = await configure(same_sensor, NO_PRICE)
    renamed = await configure(same_name, NO_PRICE)
    await ha.async_block_till_done()

    assert created["type"] is FlowResultType.CREATE_ENTRY
    assert refused["type"] is FlowResultType.ABORT
    assert refused["reason"] == "already_metered"
    assert renamed["type"] is FlowResultType.CREATE_ENTRY
    assert renamed["unique_id"] == "solar_2"
    sources = sorted(s.data["entity_id"] for s in loaded.subentries.values())
    assert sources == sorted([SOURCE, "sensor.solar", "sensor.grid_energy"])


async def test_a_sensor_that_already_has_a_meter_is_refused(
    ha: HomeAssistant, loaded: MockConfigEntry
) -> None:
    result = await add_meter_flow(ha, loaded, SOURCE, "Again")
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"entity_id": "already_metered"}


@pytest.mark.parametrize(
    ("settings", "errors"),
    [
        ({"price_mode": "fixed", "levels": ALL_LEVELS}, {"price": "price_required"}),
        ({"price_mode": "entity", "levels": ALL_LEVELS}, {"price_entity": "price_entity_required"}),
        (
            {"price_mode": "entity", "price_entity": "sensor.gone", "levels": ALL_LEVELS},
            {"price_entity": "entity_not_found"},
        ),
        (
            {"price_mode": "entity", "price_entity": "sensor.price_offline", "levels": ALL_LEVELS},
            {"price_entity": "price_not_numeric"},
        ),
        (
            {"price_mode": "entity", "price_entity": "sensor.temperature", "levels": ALL_LEVELS},
            {"price_entity": "price_unit"},
        ),
        (
            {"price_mode": "entity", "price_entity": "sensor.price_dollars", "levels": ALL_LEVELS},
            {"price_entity": "price_currency"},
        ),
        ({"price_mode": "none", "levels": []}, {"levels": "levels_required"}),
    ],
)
async def test_the_price_and_files_form_shows_every_error(
    ha: HomeAssistant, loaded: MockConfigEntry, settings: dict[str, Any], errors: dict[str, str]
) -> None:
    result = await add_meter_flow(ha, loaded, "sensor.solar", "Solar", settings)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    assert result["errors"] == errors


@pytest.mark.parametrize("price", [float("nan"), "nan"])
async def test_a_fixed_price_that_is_not_a_number_is_refused_in_the_form(
    ha: HomeAssistant, loaded: MockConfigEntry, price: object
) -> None:
    # The number box's bounds let NaN through: it would make every cost NaN.
    settings = {"price_mode": "fixed", "price": price, "levels": ALL_LEVELS}
    result = await add_meter_flow(ha, loaded, "sensor.solar", "Solar", settings)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"price": "price_required"}


@pytest.mark.parametrize("price_entity", ["sensor.price", "sensor.price_cents"])
async def test_a_price_sensor_is_accepted(
    ha: HomeAssistant, loaded: MockConfigEntry, price_entity: str
) -> None:
    result = await add_meter_flow(
        ha,
        loaded,
        "sensor.solar",
        "Solar",
        {"price_mode": "entity", "price_entity": price_entity, "levels": ALL_LEVELS},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


# -- reconfigure a meter --------------------------------------------------------------------------


async def reconfigure(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    source: dict[str, Any],
    settings: dict[str, Any] | None = None,
    subentry_id: str = HOUSE,
) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "meter"),
        context={"source": config_entries.SOURCE_RECONFIGURE, "subentry_id": subentry_id},
    )
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], source)
    if result.get("step_id") == "settings":
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], settings or NO_PRICE
        )
    return dict(result)


async def test_a_price_turned_off_leaves_no_cost_sensor_behind(
    ha: HomeAssistant, loaded: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    priced = {"price_mode": "fixed", "price": 0.25, "levels": ALL_LEVELS}
    await reconfigure(ha, loaded, {"entity_id": SOURCE, "name": "House"}, priced)
    await ha.async_block_till_done()

    def cost_sensors() -> list[str]:
        listed = er.async_entries_for_config_entry(entity_registry, loaded.entry_id)
        return sorted(e.unique_id for e in listed if "cost" in e.unique_id)

    assert cost_sensors() == [f"{HOUSE}_cost_month", f"{HOUSE}_cost_today"]

    await reconfigure(ha, loaded, {"entity_id": SOURCE, "name": "House"}, NO_PRICE)
    await ha.async_block_till_done()

    assert cost_sensors() == []
    assert ha.states.get("sensor.house_cost_today") is None
    assert ha.states.get("sensor.house_energy_today") is not None


async def test_reconfigure_points_the_meter_at_another_sensor_keeping_its_id_and_history(
    ha: HomeAssistant, loaded: MockConfigEntry
) -> None:
    before = meter_of(loaded)
    result = await reconfigure(
        ha,
        loaded,
        {"entity_id": "sensor.grid_energy", "name": "Grid"},
        {"price_mode": "fixed", "price": 0.25, "levels": ALL_LEVELS},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await ha.async_block_till_done()
    subentry = loaded.subentries[HOUSE]
    assert subentry.title == "Grid"
    assert subentry.data["entity_id"] == "sensor.grid_energy"
    assert subentry.data["kind"] == "energy"
    assert subentry.data["meter_id"] == "house"
    assert subentry.data["price"] == 0.25
    after = meter_of(loaded, "house")
    assert after is not before  # reloaded once with the new settings
    assert after.config.kind == "energy"
    assert after.config.priced
    # The device follows the new name and kind; the entities keep their ids.
    device = device_named(ha, HOUSE)
    assert device is not None
    assert (device.name, device.model) == ("Grid", "Energy meter")
    energy_today = ha.states.get("sensor.house_energy_today")
    assert energy_today is not None
    assert energy_today.attributes["friendly_name"] == "Grid Energy today"


async def test_a_reconfigure_that_changes_nothing_does_not_reload(
    ha: HomeAssistant, loaded: MockConfigEntry
) -> None:
    await reconfigure(ha, loaded, {"entity_id": SOURCE, "name": "House"}, NO_PRICE)
    await ha.async_block_till_done()
    before = meter_of(loaded)
    result = await reconfigure(ha, loaded, {"entity_id": SOURCE, "name": "House"}, NO_PRICE)
    assert result["reason"] == "reconfigure_successful"
    await ha.async_block_till_done()
    assert meter_of(loaded) is before


@pytest.mark.parametrize(
    ("entity_id", "name", "errors"),
    [
        ("sensor.temperature", "House", {"entity_id": "unsupported_unit"}),
        ("sensor.nope", "House", {"entity_id": "entity_not_found"}),
        ("sensor.garbled_power", "House", {"entity_id": "not_numeric"}),
        (SOURCE, "", {"name": "name_required"}),
        (SOURCE, "x" * 101, {"name": "name_too_long"}),
    ],
)
async def test_reconfigure_shows_every_error(
    ha: HomeAssistant, loaded: MockConfigEntry, entity_id: str, name: str, errors: dict[str, str]
) -> None:
    result = await reconfigure(ha, loaded, {"entity_id": entity_id, "name": name})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_reconfigure_to_the_sensor_of_another_meter_is_refused(ha: HomeAssistant) -> None:
    entry = make_entry(
        meters=[meter_subentry(), meter_subentry("sensor.grid_energy", "Grid", "grid", "energy")]
    )
    entry.add_to_hass(ha)
    result = await reconfigure(ha, entry, {"entity_id": "sensor.grid_energy", "name": "House"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"entity_id": "already_metered"}
