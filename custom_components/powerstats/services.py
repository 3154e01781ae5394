"""The actions: `powerstats.export` (rows of one meter and level) and `powerstats.rebuild_views`.

Registered once in `async_setup`. To add an action, write its handler and add one
`hass.services.async_register` line to `async_setup_services`.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any, Literal

import voluptuous as vol
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv

from .const import DATA_HUB, DOMAIN, EXPORT_DIR
from .fileio import write_atomically
from .history_actions import EXPORT_FORMATS, async_setup_history_actions, async_write_export
from .hub import PowerStatsHub
from .publish_setup import PUBLISH_SCHEMA, SERVICE_PUBLISH, async_publish_action
from .runtime import PowerStatsMeter
from .views import BUCKET_OF_LEVEL, LEVELS, Level, rows_between

SERVICE_EXPORT = "export"
SERVICE_REBUILD_VIEWS = "rebuild_views"
ATTR_METER = "meter"
ATTR_LEVEL = "level"
ATTR_START = "start"
ATTR_END = "end"
ATTR_CSV = "csv"
ATTR_FORMAT = "format"
# One request may span at most this many days (a year of daily rows, or 10-minute rows of
# however much of the range is still retained).
MAX_RANGE_DAYS = 3660

EXPORT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_METER): cv.string,
        vol.Required(ATTR_LEVEL): vol.In(LEVELS),
        vol.Required(ATTR_START): cv.date,
        vol.Required(ATTR_END): cv.date,
        vol.Optional(ATTR_CSV, default=False): cv.boolean,
        vol.Optional(ATTR_FORMAT): vol.In(EXPORT_FORMATS),
    }
)


def _hub(hass: HomeAssistant) -> PowerStatsHub:
    hub = hass.data.get(DATA_HUB)
    if hub is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_meters")
    return hub


def _meter(hass: HomeAssistant, meter_id: str) -> PowerStatsMeter:
    meter = _hub(hass).meters.get(meter_id)
    if meter is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_meter",
            translation_placeholders={"meter": meter_id},
        )
    return meter


async def _async_export(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    meter = _meter(hass, call.data[ATTR_METER])
    level: Level = call.data[ATTR_LEVEL]
    first: date = call.data[ATTR_START]
    last: date = call.data[ATTR_END]
    if first > last or (last - first).days >= MAX_RANGE_DAYS:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_range",
            translation_placeholders={
                "start": first.isoformat(),
                "end": last.isoformat(),
                "days": str(MAX_RANGE_DAYS),
            },
        )
    bucket: Literal["10min", "hour", "day"] = BUCKET_OF_LEVEL[level]  # type: ignore[assignment]
    columns, rows = rows_between(bucket, meter.history, first, last, priced=meter.config.priced)
    response: dict[str, Any] = {
        "meter": meter.config.meter_id,
        "level": level,
        "bucket": bucket,
        "timezone": str(meter.hub.tz),
        "columns": columns,
        "rows": rows,
    }
    if call.data[ATTR_CSV]:
        name = f"{meter.config.meter_id}-{level}-{first.isoformat()}-{last.isoformat()}.csv"
        target = Path(hass.config.path(EXPORT_DIR)) / name
        await hass.async_add_executor_job(_write_csv, target, columns, rows)
        response["csv_path"] = str(target)
    if (file_format := call.data.get(ATTR_FORMAT)) is not None:
        # A lossless file of the stored buckets, which `powerstats.import` reads back.
        response["path"] = await async_write_export(hass, meter, level, first, last, file_format)
    return response


def _write_csv(target: Path, columns: list[str], rows: list[list[Any]]) -> None:
    """Write the rows as CSV, atomically. Executor only."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    write_atomically(target, buffer.getvalue().encode("utf-8"))


async def _async_rebuild_views(call: ServiceCall) -> None:
    await _hub(call.hass).async_refresh(force=True)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the PowerStats actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_EXPORT,
        _async_export,
        schema=EXPORT_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(DOMAIN, SERVICE_REBUILD_VIEWS, _async_rebuild_views)
    hass.services.async_register(
        DOMAIN, SERVICE_PUBLISH, async_publish_action, schema=PUBLISH_SCHEMA
    )
    async_setup_history_actions(hass)
