"""Constants shared across the PowerStats integration (the HA shell): one definition each."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "powerstats"
LOGGER: Final = logging.getLogger(__package__)
# The one PowerStats entry's title, and the name of its service device.
TITLE: Final = "PowerStats"

# Meters are config subentries of this type.
SUBENTRY_METER: Final = "meter"

# A meter's subentry data. Set when the meter is added; `meter_id` never changes afterwards.
CONF_METER_ID: Final = "meter_id"
CONF_KIND: Final = "kind"
# Set once the meter's store was first written: a later missing store is then a loss to report.
CONF_STORED: Final = "stored"
# Changeable in the meter's reconfigure step.
CONF_PRICE_MODE: Final = "price_mode"
CONF_PRICE: Final = "price"
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_LEVELS: Final = "levels"
# Import the source's history from HA's recorder when the meter is added (default on).
CONF_BACKFILL: Final = "backfill"

PRICE_NONE: Final = "none"
PRICE_FIXED: Final = "fixed"
PRICE_ENTITY: Final = "entity"
PRICE_MODES: Final = (PRICE_NONE, PRICE_FIXED, PRICE_ENTITY)

# The folder under HA's config dir that holds manifest.json and one folder per meter.
DATA_DIR: Final = "powerstats"
EXPORT_DIR: Final = "powerstats_exports"
# How often the files are refreshed (every closed 10-minute bucket); told to readers.
REFRESH_SECONDS: Final = 600

# A meter's store (its canonical buckets).
STORAGE_VERSION: Final = 1
STORAGE_MINOR_VERSION: Final = 3
PUBLISH_STORAGE_VERSION: Final = 1
BACKFILL_STORAGE_VERSION: Final = 1
# A pending save is always armed so that HA's final write at shutdown keeps the open bucket. Its
# delay is long: boundaries go to the journal, and a snapshot re-arms it at least once a day.
STOP_SAVE_DELAY: Final = 7 * 86400

# Repair issues (translation keys); the ids below add what the issue is about.
ISSUE_STORE_RECOVERED: Final = "store_recovered"
ISSUE_STORE_MISSING: Final = "store_missing"
# A meter's sensor was removed from Home Assistant (the id adds the meter's store key).
ISSUE_SENSOR_REMOVED: Final = "sensor_removed"
ISSUE_PUBLISH_NO_PERMISSION: Final = "publish_no_permission"
ISSUE_PUBLISH_NOT_FOUND: Final = "publish_repository_not_found"
ISSUE_PUBLISH_EXISTING_DATA: Final = "publish_existing_data"
ISSUE_PUBLISH_SSO_REQUIRED: Final = "publish_sso_required"
ISSUE_PUBLISH_BRANCH_PROTECTED: Final = "publish_branch_protected"
PUBLISH_ISSUES: Final = (
    ISSUE_PUBLISH_NO_PERMISSION,
    ISSUE_PUBLISH_SSO_REQUIRED,
    ISSUE_PUBLISH_BRANCH_PROTECTED,
    ISSUE_PUBLISH_NOT_FOUND,
    ISSUE_PUBLISH_EXISTING_DATA,
)

# Dispatcher signal sent after the views were rendered and written; payload: `ViewsWritten`.
SIGNAL_VIEWS_WRITTEN: Final = f"{DOMAIN}_views_written"


def meter_store_key(subentry_id: str) -> str:
    """The HA store holding one meter's history."""
    return f"{DOMAIN}.{subentry_id}"


def backfill_store_key(subentry_id: str) -> str:
    """The HA store remembering that a meter's setup backfill is done."""
    return f"{DOMAIN}.backfill.{subentry_id}"


def publish_store_key(entry_id: str) -> str:
    """The HA store of the publisher's state (pending publish, backoff, maintenance)."""
    return f"{DOMAIN}.publish.{entry_id}"


def store_issue_id(subentry_id: str) -> str:
    """The repair issue raised when a meter's store was lost or unreadable."""
    return f"{ISSUE_STORE_RECOVERED}_{meter_store_key(subentry_id)}"


def sensor_removed_issue_id(subentry_id: str) -> str:
    """The repair issue raised when a meter's sensor was removed from Home Assistant."""
    return f"{ISSUE_SENSOR_REMOVED}_{meter_store_key(subentry_id)}"


def publish_issue_id(issue: str, entry_id: str) -> str:
    """The repair issue raised when publishing needs the user to fix something on GitHub."""
    return f"{issue}_{entry_id}"
