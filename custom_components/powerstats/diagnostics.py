"""Diagnostics of the dataset: settings, every meter's history, files, publishing; no token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .meter import PowerStatsMeter
from .publish_settings import CONF_GITHUB_TOKEN
from .runtime import PowerStatsConfigEntry

TO_REDACT = {CONF_GITHUB_TOKEN, "token", "access_token", "password", "api_key"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PowerStatsConfigEntry
) -> dict[str, Any]:
    """What a bug report needs to know about the dataset."""
    data = entry.runtime_data
    writer = data.writer
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "meters": {
            meter.config.meter_id: _meter(meter, dict(entry.subentries[meter.subentry_id].data))
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


def _meter(meter: PowerStatsMeter, settings: dict[str, Any]) -> dict[str, Any]:
    history = meter.history

    def span(level: Mapping[int, Any]) -> dict[str, Any]:
        return {
            "count": len(level),
            "first": min(level, default=None),
            "last": max(level, default=None),
        }

    return {
        "settings": async_redact_data(settings, TO_REDACT),
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
