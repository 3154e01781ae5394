"""The runtime data of the one PowerStats entry: everything a loaded dataset holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from .const import DOMAIN

if TYPE_CHECKING:
    from .backfill import Backfill
    from .meter import PowerStatsMeter
    from .publisher import Publisher
    from .views_writer import ViewsWriter

type PowerStatsConfigEntry = ConfigEntry[PowerStatsData]


@dataclass(slots=True)
class PowerStatsData:
    """The dataset while it is loaded: its files, its meters, its publisher, its backfills."""

    writer: ViewsWriter
    publisher: Publisher
    # Keyed by meter subentry id.
    meters: dict[str, PowerStatsMeter] = field(default_factory=dict)
    backfills: dict[str, Backfill] = field(default_factory=dict)
    # Add the entities of a meter that joined a running dataset (set by the sensor platform;
    # once that platform unloaded while the dataset runs on, a stand-in that adds none).
    add_meter_entities: Callable[[PowerStatsMeter], None] | None = None
    # The settings the dataset runs with, to tell "a meter was added" from any other change.
    # They hold the token: out of the repr (a debug line, a failed assertion, a traceback).
    running_with: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # Held while meters join the running dataset; the unload waits for it, so a meter that
    # joins is stopped with the rest, never left running beside its successor.
    joining: asyncio.Lock = field(default_factory=asyncio.Lock)
    unloading: bool = False

    def meter_by_id(self, meter_id: str) -> PowerStatsMeter | None:
        """The loaded meter whose files are named `meter_id`."""
        return next((m for m in self.meters.values() if m.config.meter_id == meter_id), None)


def loaded_entry(hass: HomeAssistant) -> PowerStatsConfigEntry | None:
    """The PowerStats entry when it is loaded (there is at most one)."""
    entries: list[PowerStatsConfigEntry] = hass.config_entries.async_loaded_entries(DOMAIN)
    return entries[0] if entries else None
