"""Wiring of publishing into the integration: a publisher per entry and the publish action.

Called from `__init__` (setup, unload, removal of an entry) and `services` (the action).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import voluptuous as vol
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from .const import DATA_HUB, DOMAIN
from .hub import PowerStatsHub
from .panel import FRONTEND_DIR, PANEL_MODULE
from .publish_plan import PublishedMeter
from .publish_settings import PublishSettings
from .publisher import (
    ISSUE_OF_PROBLEM,
    STORAGE_VERSION,
    Publisher,
    publisher_of,
    publishers,
    register,
)
from .runtime import PowerStatsConfigEntry

SERVICE_PUBLISH: Final = "publish"
ATTR_METER: Final = "meter"
PUBLISH_SCHEMA: Final = vol.Schema({vol.Optional(ATTR_METER): cv.string})

# The dashboard as packaged into the integration; in a development checkout, its source.
_SOURCE: Final = Path(__file__).parents[2] / "www"


def dashboard_dir() -> Path | None:
    """The folder whose files are published as the dashboard (executor: touches the disk)."""
    for folder in (FRONTEND_DIR, _SOURCE):
        if (folder / "index.html").is_file():
            return folder
    return None


async def async_setup_publisher(
    hass: HomeAssistant, entry: PowerStatsConfigEntry, hub: PowerStatsHub
) -> Publisher:
    """Create, register and start the entry's publisher (before its platforms are set up)."""
    settings = PublishSettings.from_options(entry.options)

    def rendered() -> dict[str, bytes]:
        return {path: served.data for path, served in hub.files.items()}

    def meters(mine: PublishSettings) -> list[PublishedMeter]:
        # Every loaded meter that publishes to the same place shares the published manifest.
        chosen = []
        for meter in hub.meters.values():
            theirs = PublishSettings.from_options(meter.entry.options)
            if theirs is not None and theirs.target == mine.target:
                levels = theirs.levels & frozenset(meter.config.levels)
                chosen.append(PublishedMeter(meter.config.meter_id, levels))
        return chosen

    folder = await hass.async_add_executor_job(dashboard_dir)
    publisher = Publisher(
        hass,
        entry,
        settings,
        rendered=rendered,
        meters=meters,
        dashboard_dir=folder,
        dashboard_skip=frozenset({PANEL_MODULE}),
        on_maintenance=lambda: _sync_maintenance(hass),
    )
    entry.async_on_unload(register(hass, publisher))
    await publisher.async_start()
    if _sync_maintenance(hass, refresh=False):
        await hub.async_refresh()  # maintenance was on before the restart: say so right away
    return publisher


async def async_unload_publisher(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> None:
    """Stop the entry's publisher and save its state."""
    publisher = publisher_of(hass, entry)
    if publisher is not None:
        await publisher.async_stop()


async def async_remove_publisher(hass: HomeAssistant, entry_id: str) -> None:
    """The entry was deleted: forget its publishing state and repair issues."""
    await Store[dict[str, Any]](
        hass, STORAGE_VERSION, f"{DOMAIN}.publish.{entry_id}"
    ).async_remove()
    for issue in ISSUE_OF_PROBLEM.values():
        ir.async_delete_issue(hass, DOMAIN, f"{issue}_{entry_id}")


@callback
def _sync_maintenance(hass: HomeAssistant, *, refresh: bool = True) -> bool:
    """The local manifest says maintenance while any meter is in maintenance; True if changed."""
    hub = hass.data.get(DATA_HUB)
    on = any(p.state.maintenance for p in publishers(hass))
    if hub is None or hub.maintenance == on:
        return False
    hub.maintenance = on
    if refresh:
        hass.async_create_task(hub.async_refresh(), eager_start=True)
    return True


def publishing_diagnostics(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> dict[str, Any]:
    """The publishing part of an entry's diagnostics: settings and state, never the token."""
    publisher = publisher_of(hass, entry)
    return {"enabled": False} if publisher is None else publisher.diagnostics()


async def async_publish_action(call: ServiceCall) -> None:
    """`powerstats.publish`: publish every meter's repository now (or one meter's)."""
    hass = call.hass
    wanted = call.data.get(ATTR_METER)
    chosen = [
        p
        for p in publishers(hass)
        if p.enabled and (wanted is None or p.entry.data.get("meter_id") == wanted)
    ]
    if not chosen and wanted is not None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="meter_not_publishing",
            translation_placeholders={"meter": wanted},
        )
    if not chosen:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="nothing_to_publish"
        )
    for publisher in chosen:
        publisher.async_request()
