"""Persistence: one versioned HA `Store` per meter subentry holding its canonical buckets.

The store holds the history (10-minute, hourly and daily buckets) and the open bucket. HA writes
it atomically. A file HA cannot parse is renamed aside by HA; one that parses but does not hold
what PowerStats wrote is reported here. Either way the meter starts fresh, with a repair issue,
instead of failing setup again at every start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import (
    DOMAIN,
    ISSUE_STORE_MISSING,
    ISSUE_STORE_RECOVERED,
    LOGGER,
    STORAGE_MINOR_VERSION,
    STORAGE_VERSION,
    meter_store_key,
    store_issue_id,
)
from .core.accounting import Kind, MeterAccumulator
from .core.rollup import History

type StoreData = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a meter starts from."""

    history: History
    accumulator: MeterAccumulator | None
    recovered: bool  # the store was corrupt and the meter started fresh


class MeterStore(Store[StoreData]):
    """The Store of one meter, with migrations between layouts."""

    def __init__(self, hass: HomeAssistant, subentry_id: str) -> None:
        self.subentry_id = subentry_id
        super().__init__(
            hass,
            STORAGE_VERSION,
            meter_store_key(subentry_id),
            minor_version=STORAGE_MINOR_VERSION,
            atomic_writes=True,
        )

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: StoreData
    ) -> StoreData:
        """Bring an older layout up to date."""
        if old_major_version == 1 and old_minor_version < 2:
            # 1.1 had no `backfill` field on buckets; nothing was backfilled then.
            history = old_data.get("history", {})
            for level in ("ten_minutes", "hours", "days"):
                history[level] = [[*row, 0.0] for row in history.get(level, [])]
        return old_data


def encode(history: History, accumulator: MeterAccumulator) -> StoreData:
    """The store's JSON data."""
    return {"history": history.to_json(), "accumulator": accumulator.to_json()}


def decode(data: StoreData, kind: Kind, tz: tzinfo) -> tuple[History, MeterAccumulator | None]:
    """History and open bucket from the store's JSON data; raises on anything malformed."""
    history = History.from_json(tz, data["history"])
    acc = data.get("accumulator")
    accumulator = MeterAccumulator.from_json(kind, tz, acc) if acc is not None else None
    return history, accumulator


async def async_load(
    hass: HomeAssistant,
    store: MeterStore,
    kind: Kind,
    tz: tzinfo,
    meter_name: str,
    *,
    expected: bool,
) -> Loaded:
    """Load a meter's store, recovering from a corrupt or missing file.

    `expected`: the store was written before, so finding none means it was lost.
    """
    existed = await hass.async_add_executor_job(os.path.exists, store.path)
    try:
        data = await store.async_load()
        if data is None:
            if existed:
                # HA found the file unreadable and moved it aside.
                return _recovered(hass, store, tz, meter_name, ISSUE_STORE_RECOVERED)
            if expected:
                LOGGER.error("The saved history of %s is missing; starting afresh", meter_name)
                return _recovered(hass, store, tz, meter_name, ISSUE_STORE_MISSING)
            return Loaded(History(tz), None, recovered=False)
        history, accumulator = decode(data, kind, tz)
    except Exception:
        LOGGER.exception("The saved history of %s could not be read", meter_name)
        await hass.async_add_executor_job(_set_aside, store.path)
        return _recovered(hass, store, tz, meter_name, ISSUE_STORE_RECOVERED)
    return Loaded(history, accumulator, recovered=False)


def _set_aside(path: str) -> None:
    if os.path.exists(path):
        os.replace(path, f"{path}.corrupt.{dt_util.utcnow().strftime('%Y%m%dT%H%M%S')}")


def _recovered(
    hass: HomeAssistant, store: MeterStore, tz: tzinfo, meter_name: str, reason: str
) -> Loaded:
    ir.async_create_issue(
        hass,
        DOMAIN,
        store_issue_id(store.subentry_id),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=reason,
        translation_placeholders={"meter": meter_name},
    )
    return Loaded(History(tz), None, recovered=True)
