"""The simulated meter as a sensor entity, reporting at irregular intervals like a real one."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import UnitOfPower
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType
from homeassistant.util import dt as dt_util

from .household import household_power


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """Add the simulated household meter."""
    async_add_entities([SimulatedHouseholdPower()])


class SimulatedHouseholdPower(SensorEntity):
    """A power sensor whose value follows a household's day."""

    _attr_name = "Simulated household power"
    _attr_unique_id = "powerstats_demo_household_power"
    _attr_device_class = SensorDeviceClass.POWER
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfPower.WATT
    _attr_should_poll = False

    def __init__(self) -> None:
        self._rng = random.Random()
        self._cancel_next: CALLBACK_TYPE | None = None
        self._attr_native_value = household_power(dt_util.now(), self._rng)

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
        self._attr_native_value = household_power(dt_util.as_local(now), self._rng)
        self.async_write_ha_state()
        self._schedule_next()
