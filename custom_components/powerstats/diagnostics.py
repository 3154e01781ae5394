"""Diagnostics of a meter: settings and the state of its history, with secrets redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .publish_setup import publishing_diagnostics
from .runtime import PowerStatsConfigEntry

# Nothing of PowerStats' own is secret, but publishing settings added later may hold a token.
TO_REDACT = {"token", "access_token", "github_token", "password", "api_key"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PowerStatsConfigEntry
) -> dict[str, Any]:
    """What a bug report needs to know about one meter."""
    meter = entry.runtime_data
    history = meter.history
    hub = meter.hub

    def span(level: dict[int, Any]) -> dict[str, Any]:
        return {
            "count": len(level),
            "first": min(level, default=None),
            "last": max(level, default=None),
        }

    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "meter": {
            "kind": meter.config.kind.value,
            "priced": meter.config.priced,
            "levels": list(meter.config.levels),
            "store_recovered": meter.recovered,
            "accounted_until": meter.accumulator.accounted_until,
            "source_has_value": meter.accumulator.has_value,
        },
        "history": {
            "ten_minutes": span(history.ten_minutes),
            "hours": span(history.hours),
            "days": span(history.days),
        },
        "files": {
            path: {"bytes": len(served.data), "sha256": served.sha256}
            for path, served in sorted(hub.files.items())
        },
        "last_as_of": hub.last_as_of,
        "publishing": publishing_diagnostics(hass, entry),
    }
