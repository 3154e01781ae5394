"""Fixtures for the integration tests: a real HA core (pytest-homeassistant-custom-component)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.powerstats.const import CONF_KIND, CONF_METER_ID, DOMAIN

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SOURCE = "sensor.house_power"


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


def make_entry(
    entity_id: str = SOURCE,
    name: str = "House",
    meter_id: str = "house",
    kind: str = "power",
    options: dict[str, object] | None = None,
    entry_id: str | None = None,
) -> MockConfigEntry:
    """A config entry as the config flow creates it."""
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        title=name,
        unique_id=meter_id,
        data={"entity_id": entity_id, "name": name, CONF_METER_ID: meter_id, CONF_KIND: kind},
        options=options or {},
    )


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
