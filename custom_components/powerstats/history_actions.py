"""The history actions: `powerstats.backfill`, `powerstats.import`, and export files.

`powerstats.backfill` imports a meter's past from HA's recorder (backfill.py);
`powerstats.import` reads an export file (transfer.py) into a meter; `async_write_export` is
what `powerstats.export` calls to save the lossless file. Every file from outside is checked
whole before anything is stored, so a bad file changes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

import voluptuous as vol
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from .backfill import async_request_publish, async_start_backfill
from .const import DATA_HUB, DOMAIN, EXPORT_DIR, LOGGER
from .fileio import write_atomically
from .runtime import PowerStatsMeter
from .timegrid import day_bounds, iso_local, ten_minute_start
from .transfer import (
    MAX_IMPORT_BYTES,
    BucketLevel,
    TransferError,
    parse,
    select,
    to_csv,
    to_json,
)
from .views import BUCKET_OF_LEVEL, Level

SERVICE_BACKFILL: Final = "backfill"
SERVICE_IMPORT: Final = "import"
ATTR_METER: Final = "meter"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_PATH: Final = "path"
EXPORT_FORMATS: Final = ("csv", "json")
type ExportFormat = Literal["csv", "json"]

BACKFILL_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(ATTR_METER): cv.string,
        vol.Optional(ATTR_START): cv.date,
        vol.Optional(ATTR_END): cv.date,
    }
)
IMPORT_SCHEMA: Final = vol.Schema(
    {vol.Required(ATTR_METER): cv.string, vol.Required(ATTR_PATH): cv.string}
)


def _meters(hass: HomeAssistant, meter_id: str | None) -> list[PowerStatsMeter]:
    hub = hass.data.get(DATA_HUB)
    if hub is None or not hub.meters:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_meters")
    if meter_id is None:
        return [hub.meters[m] for m in sorted(hub.meters)]
    meter = hub.meters.get(meter_id)
    if meter is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_meter",
            translation_placeholders={"meter": meter_id},
        )
    return [meter]


# -- backfill ---------------------------------------------------------------------------------


async def _async_backfill(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    meters = _meters(hass, call.data.get(ATTR_METER))
    first: date | None = call.data.get(ATTR_START)
    last: date | None = call.data.get(ATTR_END)
    if first is not None and last is not None and first > last:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="backfill_invalid_range",
            translation_placeholders={"start": first.isoformat(), "end": last.isoformat()},
        )
    if "recorder" not in hass.config.components:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_recorder")
    results: dict[str, Any] = {}
    for meter in meters:
        task = async_start_backfill(hass, meter, first, last)
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="backfill_cancelled",
                    translation_placeholders={"meter": meter.config.meter_id},
                ) from None
            raise
        except HomeAssistantError:
            raise
        except Exception as err:
            LOGGER.exception("Backfill of %s from the recorder failed", meter.config.name)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="backfill_failed",
                translation_placeholders={"meter": meter.config.meter_id, "error": str(err)},
            ) from err
        results[meter.config.meter_id] = result.as_response()
    return {"meters": results}


# -- import -----------------------------------------------------------------------------------


def _resolve(hass: HomeAssistant, raw: str) -> Path:
    """The file to import: relative to HA's config folder, or an allow-listed absolute path."""
    path = Path(raw)
    if not path.is_absolute():
        path = Path(hass.config.path(raw))
    resolved = path.resolve()
    config = Path(hass.config.config_dir).resolve()
    if not (resolved.is_relative_to(config) or hass.config.is_allowed_path(str(resolved))):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="import_path_not_allowed",
            translation_placeholders={"path": raw},
        )
    return resolved


def _read_import(path: Path) -> bytes | None:
    """The file's bytes (None when missing), refusing huge files unread. Executor only."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_IMPORT_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError):
        return None


async def _async_import(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    (meter,) = _meters(hass, call.data[ATTR_METER])
    raw_path: str = call.data[ATTR_PATH]
    path = await hass.async_add_executor_job(_resolve, hass, raw_path)
    data = await hass.async_add_executor_job(_read_import, path)
    if data is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="import_file_not_found",
            translation_placeholders={"path": raw_path},
        )
    tz = meter.hub.tz
    live_from = ten_minute_start(meter.accumulator.accounted_until, tz)
    try:
        transfer = parse(data, tz, str(tz), not_after=live_from)
    except TransferError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=err.key,
            translation_placeholders={"path": raw_path, **err.placeholders},
        ) from err
    landed = await meter.async_merge_backfill(
        ten_minutes=transfer.ten_minutes, hours=transfer.hours, days=transfer.days
    )
    if landed:
        async_request_publish(hass, meter)
    return {"meter": meter.config.meter_id, "buckets": transfer.count, "landed_buckets": landed}


# -- export files -----------------------------------------------------------------------------


async def async_write_export(
    hass: HomeAssistant,
    meter: PowerStatsMeter,
    level: Level,
    first: date,
    last: date,
    file_format: ExportFormat,
) -> str:
    """Write the stored buckets of `level` for local days `first`..`last` losslessly.

    Returns the file's path (under `powerstats_exports/` in HA's config folder).
    """
    tz = meter.hub.tz
    bucket: BucketLevel = BUCKET_OF_LEVEL[level]  # type: ignore[assignment]
    transfer = select(
        meter.history,
        meter_id=meter.config.meter_id,
        kind=meter.config.kind.value,
        timezone=str(tz),
        levels=(bucket,),
        begin=day_bounds(first, tz)[0],
        end=day_bounds(last, tz)[1],
    )
    exported = iso_local(dt_util.utcnow().timestamp(), tz)
    data = to_json(transfer, exported) if file_format == "json" else to_csv(transfer, exported)
    name = f"{meter.config.meter_id}-{level}-{first.isoformat()}-{last.isoformat()}.{file_format}"
    target = Path(hass.config.path(EXPORT_DIR)) / name
    await hass.async_add_executor_job(write_atomically, target, data)
    return str(target)


@callback
def async_setup_history_actions(hass: HomeAssistant) -> None:
    """Register `powerstats.backfill` and `powerstats.import`."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_BACKFILL,
        _async_backfill,
        schema=BACKFILL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_IMPORT,
        _async_import,
        schema=IMPORT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
