"""Sensors: per meter energy, mean and peak power, cost, coverage; the dataset's Last publish."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, Platform, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .core.rollup import Totals
from .entity import DatasetEntity, MeterEntity, async_remove_unprovided
from .meter import PowerStatsMeter
from .runtime import PowerStatsConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PowerStatsSensorDescription(SensorEntityDescription):
    """A sensor read from the meter's totals."""

    value_fn: Callable[[Totals], float | None]
    reset_fn: Callable[[Totals], int] | None = None
    priced_only: bool = False
    # Rounded like the files (kWh and cost 4 decimals, W 1): no float noise in the state.
    digits: int = 4


def _energy(
    key: str, value_fn: Callable[[Totals], float], reset_fn: Callable[[Totals], int]
) -> PowerStatsSensorDescription:
    return PowerStatsSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENERGY,
        # TOTAL with last_reset: a net meter's energy can fall (exported solar).
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=value_fn,
        reset_fn=reset_fn,
    )


def _cost(
    key: str, value_fn: Callable[[Totals], float | None], reset_fn: Callable[[Totals], int]
) -> PowerStatsSensorDescription:
    return PowerStatsSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=value_fn,
        reset_fn=reset_fn,
        priced_only=True,
    )


SENSORS: tuple[PowerStatsSensorDescription, ...] = (
    _energy("energy_today", lambda t: t.energy_today, lambda t: t.today_start),
    _energy("energy_week", lambda t: t.energy_week, lambda t: t.week_start),
    _energy("energy_month", lambda t: t.energy_month, lambda t: t.month_start),
    _energy("energy_year", lambda t: t.energy_year, lambda t: t.year_start),
    PowerStatsSensorDescription(
        key="mean_power_today",
        translation_key="mean_power_today",
        digits=1,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda t: t.mean_w_today,
    ),
    PowerStatsSensorDescription(
        key="peak_power_today",
        translation_key="peak_power_today",
        digits=1,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda t: t.peak_w_today,
    ),
    _cost("cost_today", lambda t: t.cost_today, lambda t: t.today_start),
    _cost("cost_month", lambda t: t.cost_month, lambda t: t.month_start),
    PowerStatsSensorDescription(
        key="coverage_today",
        translation_key="coverage_today",
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=1,
        value_fn=lambda t: t.coverage_today * 100,
        digits=1,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PowerStatsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every meter's sensors (each to its subentry) and, when publishing, Last publish."""

    def add_meter(meter: PowerStatsMeter) -> list[MeterSensor]:
        """Add a meter's sensors; returns them."""
        sensors = [
            MeterSensor(meter, description)
            for description in SENSORS
            if meter.config.priced or not description.priced_only
        ]
        async_add_entities(sensors, config_subentry_id=meter.subentry_id)
        return sensors

    @callback
    def join(meter: PowerStatsMeter) -> None:
        async_remove_unprovided(hass, entry, Platform.SENSOR, {meter.subentry_id: add_meter(meter)})

    provided: dict[str | None, Sequence[Entity]] = {}
    for meter in list(entry.runtime_data.meters.values()):
        provided[meter.subentry_id] = add_meter(meter)
        # Adding entities runs eagerly to the end: with many meters, let other work in between.
        await asyncio.sleep(0)
    entry.runtime_data.add_meter_entities = join
    dataset = (
        [LastPublishSensor(entry, LAST_PUBLISH)] if entry.runtime_data.publisher.enabled else []
    )
    async_add_entities(dataset)
    provided[None] = dataset
    async_remove_unprovided(hass, entry, Platform.SENSOR, provided)


class MeterSensor(MeterEntity, SensorEntity):
    """One figure of a meter."""

    entity_description: PowerStatsSensorDescription

    def __init__(self, meter: PowerStatsMeter, description: PowerStatsSensorDescription) -> None:
        super().__init__(meter, description)
        if description.priced_only:
            self._attr_native_unit_of_measurement = meter.hass.config.currency

    _shown: tuple[float | None, datetime | None] | None = None

    @callback
    def _async_totals_changed(self) -> None:
        # Every meter refreshes nine figures at each boundary; with many meters, HA's state
        # machine is most of a boundary's work, so a figure that did not move is not rewritten.
        shown = (self.native_value, self.last_reset)
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()

    @property
    def native_value(self) -> float | None:
        """The figure, from the meter's latest totals."""
        value = self.entity_description.value_fn(self.meter.totals)
        if value is None or not math.isfinite(value):
            return None  # HA refuses an infinite state, and the boundary's work with it
        return round(value, self.entity_description.digits) + 0.0

    @property
    def last_reset(self) -> datetime | None:
        """Start of the period a total counts from."""
        reset_fn = self.entity_description.reset_fn
        if reset_fn is None:
            return None
        return dt_util.utc_from_timestamp(reset_fn(self.meter.totals))


LAST_PUBLISH = SensorEntityDescription(
    key="last_publish",
    translation_key="last_publish",
    device_class=SensorDeviceClass.TIMESTAMP,
    entity_category=EntityCategory.DIAGNOSTIC,
)


class LastPublishSensor(DatasetEntity, SensorEntity):
    """When the repository last held everything (the last successful publish)."""

    @property
    def native_value(self) -> datetime | None:
        """The time of the last successful publish."""
        last = self.publisher.state.last_publish
        return None if last is None else dt_util.utc_from_timestamp(last)
