"""The simulated meters and tariff as sensor entities, reporting at irregular intervals."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import UnitOfPower
from homeassistant.core import (
    CALLBACK_TYPE,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
from homeassistant.util import dt as dt_util

from .household import household_power
from .loads import electricity_price, ev_charger_power, heat_pump_power
from .seed import async_seed_states

DOMAIN = "powerstats_demo"


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """Add the simulated meters and the price, and the action that seeds their history."""
    async_add_entities(
        [
            SimulatedPower("Simulated household power", "household_power", household_power),
            SimulatedPower("Simulated EV charger power", "ev_charger_power", ev_charger_power),
            SimulatedPower("Simulated heat pump power", "heat_pump_power", heat_pump_power),
            SimulatedPrice(),
        ]
    )

    async def seed_states(call: ServiceCall) -> ServiceResponse:
        days = call.data.get("days")
        written, start = await async_seed_states(hass, None if days is None else float(days))
        return {"states": written, "start": start}

    hass.services.async_register(
        DOMAIN, "seed_states", seed_states, supports_response=SupportsResponse.OPTIONAL
    )


class _Simulated(SensorEntity):
    """A sensor that reports a new value every few seconds to a minute, as real ones do."""

    _attr_should_poll = False

    def __init__(self) -> None:
        self._rng = random.Random()
        self._cancel_next: CALLBACK_TYPE | None = None
        self._attr_native_value = self._value(dt_util.now())

    def _value(self, now: datetime) -> float:
        raise NotImplementedError

    async def async_added_to_hass(self) -> None:
        self._schedule_next()

    async def async_will_remove_from_hass(self) -> None:
        if self._cancel_next is not None:
            self._cancel_next()

    @callback
    def _schedule_next(self) -> None:
        # Real meters report every few seconds to a minute, not on a fixed grid.
        delay = timedelta(seconds=self._rng.uniform(3, 40))
        self._cancel_next = async_track_point_in_utc_time(
            self.hass, self._report, dt_util.utcnow() + delay
        )

    @callback
    def _report(self, now: datetime) -> None:
        self._attr_native_value = self._value(dt_util.as_local(now))
        self.async_write_ha_state()
        self._schedule_next()


class SimulatedPower(_Simulated):
    """A power sensor following one of the demo's loads."""

    _attr_device_class = SensorDeviceClass.POWER
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfPower.WATT

    def __init__(
        self, name: str, key: str, load: Callable[[datetime, random.Random], float]
    ) -> None:
        self._load = load
        self._attr_name = name
        self._attr_unique_id = f"powerstats_demo_{key}"
        super().__init__()

    def _value(self, now: datetime) -> float:
        return self._load(now, self._rng)


class SimulatedPrice(_Simulated):
    """The household's dynamic electricity price."""

    _attr_name = "Simulated electricity price"
    _attr_unique_id = "powerstats_demo_electricity_price"
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = "EUR/kWh"
    _attr_suggested_display_precision = 4

    def _value(self, now: datetime) -> float:
        return electricity_price(now)
