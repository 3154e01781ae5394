"""Constants shared across the PowerStats integration (the HA shell)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from homeassistant.util.hass_dict import HassKey

if TYPE_CHECKING:
    from .hub import PowerStatsHub

DOMAIN: Final = "powerstats"
LOGGER: Final = logging.getLogger(__package__)
# The hub shared by every meter (see hub.py); present while at least one meter is loaded.
DATA_HUB: HassKey[PowerStatsHub] = HassKey(DOMAIN)

# Config entry data (set up in the config flow; stable for the meter's life).
CONF_METER_ID: Final = "meter_id"
CONF_KIND: Final = "kind"
# Set once the meter's store was first written: a later missing store is then a loss to report.
CONF_STORED: Final = "stored"
# Options (changeable at any time in the options flow).
CONF_PRICE_MODE: Final = "price_mode"
CONF_PRICE: Final = "price"
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_LEVELS: Final = "levels"
# Import the source's history from HA's recorder when the meter is set up (default on).
CONF_BACKFILL: Final = "backfill"

PRICE_NONE: Final = "none"
PRICE_FIXED: Final = "fixed"
PRICE_ENTITY: Final = "entity"
PRICE_MODES: Final = (PRICE_NONE, PRICE_FIXED, PRICE_ENTITY)

# The folder under HA's config dir that holds manifest.json and one folder per meter.
DATA_DIR: Final = "powerstats"
EXPORT_DIR: Final = "powerstats_exports"
MANIFEST: Final = "manifest.json"
# How often the files are refreshed (every closed 10-minute bucket); told to readers.
REFRESH_SECONDS: Final = 600

STORAGE_VERSION: Final = 1
STORAGE_MINOR_VERSION: Final = 2
# A pending save is always armed so that HA's final write at shutdown keeps the open bucket.
STOP_SAVE_DELAY: Final = 3600

# Dispatcher signal sent after the views were rendered and written; payload: `ViewsWritten`.
SIGNAL_VIEWS_WRITTEN: Final = f"{DOMAIN}_views_written"
