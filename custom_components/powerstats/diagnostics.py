"""Diagnostics of the dataset: settings, every meter's history, files, publishing; no token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant

from .const import CONF_METER_ID, SUBENTRY_METER
from .meter import PowerStatsMeter
from .publish_settings import CONF_GITHUB_TOKEN
from .runtime import PowerStatsConfigEntry

TO_REDACT = {CONF_GITHUB_TOKEN, "token", "access_token", "password", "api_key"}
# A dataset HA could not unload runs on; in any other state its runtime data is gone or stale.
RUNNING = (ConfigEntryState.LOADED, ConfigEntryState.FAILED_UNLOAD)


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PowerStatsConfigEntry
) -> dict[str, Any]:
    """What a bug report needs to know about the dataset.

    HA's frontend offers the download for a loaded dataset only, but its API serves any: one
    that is not running (disabled, failed to start) has its settings and HA's reason. A meter
    removed while the dataset runs on without restarting (it failed to unload) has no settings.
    """
    settings = {
        "data": async_redact_data(dict(entry.data), TO_REDACT),
        "options": async_redact_data(dict(entry.options), TO_REDACT),
    }
    if entry.state not in RUNNING:
        return {
            "entry": settings,
            "state": entry.state.value,
            "reason": entry.reason,
            "meters": {
                str(subentry.data.get(CONF_METER_ID)): {
                    "settings": async_redact_data(dict(subentry.data), TO_REDACT)
                }
                for subentry in entry.subentries.values()
                if subentry.subentry_type == SUBENTRY_METER
            },
        }
    data = entry.runtime_data
    writer = data.writer
    return {
        "entry": settings,
        "state": entry.state.value,
        "meters": {
            meter.config.meter_id: _meter(meter, entry.subentries.get(meter.subentry_id))
            for meter in sorted(data.meters.values(), key=lambda m: m.config.meter_id)
        },
        "files": {
            path: {"bytes": len(served.data), "sha256": served.sha256}
            for path, served in sorted(writer.files.items())
        },
        "last_as_of": writer.last_as_of,
        "maintenance": writer.maintenance,
        "publishing": data.publisher.diagnostics(),
    }


def _meter(meter: PowerStatsMeter, subentry: ConfigSubentry | None) -> dict[str, Any]:
    history = meter.history

    def span(level: Mapping[int, Any]) -> dict[str, Any]:
        return {
            "count": len(level),
            "first": min(level, default=None),
            "last": max(level, default=None),
        }

    return {
        # None: the meter was removed and runs until the dataset restarts without it.
        "settings": None if subentry is None else async_redact_data(dict(subentry.data), TO_REDACT),
        "entity_id": meter.config.entity_id,
        "kind": meter.config.kind.value,
        "priced": meter.config.priced,
        "levels": list(meter.config.levels),
        "store_recovered": meter.recovered,
        "accounted_until": meter.accumulator.accounted_until,
        "source_has_value": meter.accumulator.has_value,
        "history": {
            "ten_minutes": span(history.ten_minutes),
            "hours": span(history.hours),
            "days": span(history.days),
        },
    }
