"""Fixtures for the integration tests: a real HA core (pytest-homeassistant-custom-component)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentry, ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.storage import Store
from homeassistant.util.file import WriteError
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.powerstats.const import (
    CONF_KIND,
    CONF_METER_ID,
    DOMAIN,
    SUBENTRY_METER,
    TITLE,
    meter_store_key,
)
from custom_components.powerstats.meter import PowerStatsMeter
from custom_components.powerstats.publish_settings import CONF_GITHUB_TOKEN, PUBLISH_OPTION_KEYS
from custom_components.powerstats.runtime import loaded_entry

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SOURCE = "sensor.house_power"
ENTRY_ID = "01JPOWERSTATSENTRY00000000"
# The subentry id of the House meter `make_entry` adds.
HOUSE = "subentry_house"
# What HA announces before a deprecated use stops working; a test fails on any of it.
DEPRECATION_WORDS = ("deprecat", "will stop working", "detected that custom integration")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load integrations from custom_components/ in every test."""


@pytest.fixture
async def ha(hass: HomeAssistant, tmp_path: Path) -> HomeAssistant:
    """HA in Amsterdam time with a config dir of its own (the files land there)."""
    hass.config.config_dir = str(tmp_path)
    await hass.config.async_set_time_zone("Europe/Amsterdam")
    hass.config.currency = "EUR"
    return hass


def deprecation_warnings(records: list[logging.LogRecord]) -> list[str]:
    """Warnings from or about PowerStats that a later HA turns into errors."""
    return [
        record.getMessage()
        for record in records
        if record.levelno >= logging.WARNING
        and (
            record.name.startswith("custom_components.powerstats") or DOMAIN in record.getMessage()
        )
        and any(word in record.getMessage().lower() for word in DEPRECATION_WORDS)
    ]


@pytest.fixture(autouse=True)
def no_deprecation_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail every integration test on a deprecation warning from or about PowerStats."""
    yield
    found = deprecation_warnings(caplog.get_records("call") + caplog.get_records("teardown"))
    assert not found, f"deprecated use: {found}"


def meter_subentry(
    entity_id: str = SOURCE,
    name: str = "House",
    meter_id: str = "house",
    kind: str = "power",
    **settings: Any,
) -> ConfigSubentryDataWithId:
    """A meter subentry as the flows create it (price, files, backfill in `settings`)."""
    return ConfigSubentryDataWithId(
        subentry_id=f"subentry_{meter_id}",
        subentry_type=SUBENTRY_METER,
        title=name,
        unique_id=meter_id,
        data={
            "entity_id": entity_id,
            "name": name,
            CONF_METER_ID: meter_id,
            CONF_KIND: kind,
            **settings,
        },
    )


def make_entry(
    entity_id: str = SOURCE,
    name: str = "House",
    meter_id: str = "house",
    kind: str = "power",
    options: dict[str, Any] | None = None,
    entry_id: str | None = ENTRY_ID,
    meters: list[ConfigSubentryDataWithId] | None = None,
) -> MockConfigEntry:
    """The PowerStats entry as the flows create it, with one meter (or `meters`).

    `options` may mix what lives in three places: the token goes to the entry's data, the
    publishing settings to its options, anything else to the (one) meter's data.
    """
    options = options or {}
    publishing = {k: v for k, v in options.items() if k in PUBLISH_OPTION_KEYS}
    data = {k: v for k, v in options.items() if k == CONF_GITHUB_TOKEN}
    settings = {k: v for k, v in options.items() if k not in publishing and k not in data}
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        title=TITLE,
        data=data,
        options=publishing,
        subentries_data=meters or [meter_subentry(entity_id, name, meter_id, kind, **settings)],
    )


def as_subentry(subentry: ConfigSubentryDataWithId) -> ConfigSubentry:
    """The subentry HA holds for what a flow made (`meter_subentry`)."""
    return ConfigSubentry(
        data=MappingProxyType(dict(subentry["data"])),
        subentry_id=subentry["subentry_id"],
        subentry_type=subentry["subentry_type"],
        title=subentry["title"],
        unique_id=subentry["unique_id"],
    )


async def add_meter(
    hass: HomeAssistant, entry: MockConfigEntry, subentry: ConfigSubentryDataWithId
) -> PowerStatsMeter:
    """Add a meter subentry to a loaded entry (it joins) and return the new meter."""
    hass.config_entries.async_add_subentry(entry, as_subentry(subentry))
    await hass.async_block_till_done()
    return meter_of(entry, subentry["data"][CONF_METER_ID])


def device_named(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry | None:
    """PowerStats' device with the identifier (a meter's subentry id or the entry id).

    Searched through the entries' devices: the registry's lookups differ between HA versions.
    """
    registry = dr.async_get(hass)
    return next(
        (
            device
            for entry in hass.config_entries.async_entries(DOMAIN)
            for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
            if (DOMAIN, identifier) in device.identifiers
        ),
        None,
    )


def meter_device(hass: HomeAssistant, meter_id: str = "house") -> str:
    """The device id of a meter that `meter_subentry` made (what actions take as `meter`)."""
    device = device_named(hass, f"subentry_{meter_id}")
    assert device is not None, meter_id
    return device.id


def meter_of(entry: MockConfigEntry, meter_id: str = "house") -> PowerStatsMeter:
    """The loaded meter of an entry by its id."""
    found: PowerStatsMeter | None = entry.runtime_data.meter_by_id(meter_id)
    assert found is not None, meter_id
    return found


type Clock = Callable[[datetime], Awaitable[None]]


@pytest.fixture
def move_to(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Clock:
    """Move the clock to a moment and let HA fire every timer due by then."""

    async def _move(when: datetime) -> None:
        await hass.async_block_till_done()  # state changes made so far happen before the move
        freezer.move_to(when)
        async_fire_time_changed(hass, when)
        await hass.async_block_till_done()

    return _move


def at(*args: int) -> datetime:
    """A moment on the Amsterdam clock."""
    year, month, day, hour, minute = args
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


async def read_file(hass: HomeAssistant, relative: str) -> bytes:
    """A file under HA's config dir, read in the executor like the integration does."""
    return await hass.async_add_executor_job(Path(hass.config.path(relative)).read_bytes)


def served(hass: HomeAssistant, path: str) -> bytes:
    """A dataset file as PowerStats serves it now (the HTTP view, the panel, the publisher)."""
    entry = loaded_entry(hass)
    assert entry is not None
    data = entry.runtime_data.writer.file_bytes(path)
    assert data is not None, f"{path} is not listed"
    return data


@contextmanager
def snapshots_fail(subentry_id: str = HOUSE) -> Iterator[None]:
    """A meter's snapshot cannot be written (a full disk) while this lasts."""
    write = Store._async_write_data

    async def disk_full(store: Store[Any], *args: Any) -> None:
        if store.key == meter_store_key(subentry_id):
            raise WriteError("No space left on device")
        await write(store, *args)

    with patch.object(Store, "_async_write_data", disk_full):
        yield
