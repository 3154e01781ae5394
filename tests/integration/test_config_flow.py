"""Config, options and reconfigure flows: every error and the abort."""

from __future__ import annotations

import pytest
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.powerstats.const import DOMAIN

from .conftest import SOURCE, make_entry

W = {"unit_of_measurement": "W"}


@pytest.fixture(autouse=True)
def sensors(ha: HomeAssistant) -> None:
    """A few sensors to pick from."""
    ha.states.async_set(SOURCE, "512.5", W)
    ha.states.async_set("sensor.grid_energy", "12345.6", {"unit_of_measurement": "kWh"})
    ha.states.async_set("sensor.temperature", "21.5", {"unit_of_measurement": "°C"})
    ha.states.async_set("sensor.offline_power", "unavailable", W)
    ha.states.async_set("sensor.price", "0.27", {"unit_of_measurement": "EUR/kWh"})
    ha.states.async_set("sensor.price_offline", "unknown", {})


async def user_step(hass: HomeAssistant, entity_id: str, name: str = "House") -> dict[str, object]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"entity_id": entity_id, "name": name}
    )
    if result.get("step_id") == "github":  # the optional publishing step: skip it
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    return result  # type: ignore[return-value]


async def test_a_power_sensor_becomes_a_meter_with_a_slug_id(ha: HomeAssistant) -> None:
    result = await user_step(ha, SOURCE, "Main House")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Main House"
    assert result["data"] == {
        "entity_id": SOURCE,
        "name": "Main House",
        "meter_id": "main_house",
        "kind": "power",
    }


async def test_an_energy_sensor_becomes_an_energy_meter(ha: HomeAssistant) -> None:
    result = await user_step(ha, "sensor.grid_energy", "Grid")
    assert result["data"]["kind"] == "energy"  # type: ignore[index]


async def test_a_second_meter_with_the_same_name_gets_a_unique_id(ha: HomeAssistant) -> None:
    make_entry(entity_id="sensor.other", meter_id="house").add_to_hass(ha)
    result = await user_step(ha, SOURCE, "House")
    assert result["data"]["meter_id"] == "house_2"  # type: ignore[index]


@pytest.mark.parametrize(
    ("entity_id", "error"),
    [
        ("sensor.does_not_exist", "entity_not_found"),
        ("sensor.temperature", "unsupported_unit"),
        ("sensor.offline_power", "not_numeric"),
    ],
)
async def test_an_unusable_sensor_is_refused_in_the_form(
    ha: HomeAssistant, entity_id: str, error: str
) -> None:
    result = await user_step(ha, entity_id)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"entity_id": error}


async def test_an_empty_name_is_refused_in_the_form(ha: HomeAssistant) -> None:
    result = await user_step(ha, SOURCE, "   ")
    assert result["errors"] == {"name": "name_required"}


async def test_the_same_sensor_twice_aborts(ha: HomeAssistant) -> None:
    make_entry().add_to_hass(ha)
    result = await user_step(ha, SOURCE, "Again")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_points_the_meter_at_another_sensor_keeping_its_id(
    ha: HomeAssistant,
) -> None:
    entry = make_entry()
    entry.add_to_hass(ha)
    result = await entry.start_reconfigure_flow(ha)
    assert result["type"] is FlowResultType.FORM
    result = await ha.config_entries.flow.async_configure(
        result["flow_id"], {"entity_id": "sensor.grid_energy", "name": "Grid"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await ha.async_block_till_done()
    assert entry.data["entity_id"] == "sensor.grid_energy"
    assert entry.data["kind"] == "energy"
    assert entry.data["meter_id"] == "house"
    assert entry.title == "Grid"
    assert entry.runtime_data.config.kind == "energy"
    assert await ha.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("entity_id", "name", "errors"),
    [
        ("sensor.temperature", "House", {"entity_id": "unsupported_unit"}),
        ("sensor.nope", "House", {"entity_id": "entity_not_found"}),
        ("sensor.offline_power", "House", {"entity_id": "not_numeric"}),
        (SOURCE, "", {"name": "name_required"}),
    ],
)
async def test_reconfigure_shows_every_error(
    ha: HomeAssistant, entity_id: str, name: str, errors: dict[str, str]
) -> None:
    entry = make_entry()
    entry.add_to_hass(ha)
    result = await entry.start_reconfigure_flow(ha)
    result = await ha.config_entries.flow.async_configure(
        result["flow_id"], {"entity_id": entity_id, "name": name}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors


async def test_reconfigure_to_a_sensor_of_another_meter_aborts(ha: HomeAssistant) -> None:
    entry = make_entry()
    entry.add_to_hass(ha)
    make_entry(entity_id="sensor.grid_energy", meter_id="grid", kind="energy").add_to_hass(ha)
    result = await entry.start_reconfigure_flow(ha)
    result = await ha.config_entries.flow.async_configure(
        result["flow_id"], {"entity_id": "sensor.grid_energy", "name": "House"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def options_step(hass: HomeAssistant, user_input: dict[str, object]) -> dict[str, object]:
    entry = make_entry()
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    if result.get("step_id") == "github":  # the publishing step: leave publishing off
        result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    return result  # type: ignore[return-value]


ALL_LEVELS = ["daily", "weekly", "monthly", "yearly"]


async def test_options_set_a_fixed_price(ha: HomeAssistant) -> None:
    result = await options_step(
        ha, {"price_mode": "fixed", "price": 0.31, "levels": ["monthly", "yearly"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"price_mode": "fixed", "price": 0.31, "levels": ["monthly", "yearly"]}


async def test_options_set_a_price_sensor(ha: HomeAssistant) -> None:
    result = await options_step(
        ha, {"price_mode": "entity", "price_entity": "sensor.price", "levels": ALL_LEVELS}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({"price_mode": "fixed", "levels": ALL_LEVELS}, {"price": "price_required"}),
        ({"price_mode": "entity", "levels": ALL_LEVELS}, {"price_entity": "price_entity_required"}),
        (
            {"price_mode": "entity", "price_entity": "sensor.gone", "levels": ALL_LEVELS},
            {"price_entity": "entity_not_found"},
        ),
        (
            {"price_mode": "entity", "price_entity": "sensor.price_offline", "levels": ALL_LEVELS},
            {"price_entity": "not_numeric"},
        ),
        ({"price_mode": "none", "levels": []}, {"levels": "levels_required"}),
    ],
)
async def test_options_show_every_error(
    ha: HomeAssistant, user_input: dict[str, object], errors: dict[str, str]
) -> None:
    result = await options_step(ha, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
