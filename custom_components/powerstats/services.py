"""Every PowerStats action, registered once in `async_setup`.

- `export`, `import`, `backfill`, `restore`, `rebuild_views` read or write files in the config
  folder: admin only. They target meters by their device (one device per meter subentry).
- `publish` and `set_maintenance` act on the dataset (the one PowerStats entry).

No file error escapes as a raw OSError: it becomes a translated error naming the file.
"""

from __future__ import annotations

import asyncio
import csv
import errno
import io
from collections.abc import Callable, Coroutine
from datetime import date, timedelta
from functools import partial, wraps
from pathlib import Path
from typing import Any, Final, Literal

import voluptuous as vol
from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .backfill import async_start_backfill
from .const import DOMAIN, EXPORT_DIR, LOGGER
from .core.export_file import (
    MAX_IMPORT_BYTES,
    BucketLevel,
    ExportFileError,
    parse,
    select,
    to_csv,
    to_json,
)
from .core.fileio import write_atomically
from .core.restore_plan import LocalMeter, RestoreError, apply, plan, preview, read_manifest
from .core.restore_plan import select as select_meters
from .core.timegrid import day_bounds, iso_local, ten_minute_start
from .core.views import BUCKET_OF_LEVEL, LEVELS, Level, rows_between
from .meter import PowerStatsMeter, history_not_saved
from .permissions import async_is_admin
from .restore_source import FolderSource, SourceError, UrlSource, is_url, resolve_folder, shown
from .runtime import PowerStatsConfigEntry, loaded_entry

SERVICE_EXPORT: Final = "export"
SERVICE_IMPORT: Final = "import"
SERVICE_BACKFILL: Final = "backfill"
SERVICE_REBUILD_VIEWS: Final = "rebuild_views"
SERVICE_PUBLISH: Final = "publish"
SERVICE_SET_MAINTENANCE: Final = "set_maintenance"
SERVICE_RESTORE: Final = "restore"

ATTR_METER: Final = "meter"
ATTR_LEVEL: Final = "level"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_CSV: Final = "csv"
ATTR_FORMAT: Final = "format"
ATTR_PATH: Final = "path"
ATTR_ENABLED: Final = "enabled"
ATTR_SOURCE: Final = "source"
ATTR_METERS: Final = "meters"
ATTR_DRY_RUN: Final = "dry_run"
EXPORT_FORMATS: Final = ("csv", "json")
type ExportFormat = Literal["csv", "json"]
# One request may span at most this many days (a year of daily rows, or 10-minute rows of
# however much of the range is still retained).
MAX_RANGE_DAYS: Final = 3660
# A range ends at the local midnight after its last day, which the calendar's last day lacks.
LAST_DAY: Final = date.max - timedelta(days=1)
# Nothing Home Assistant recorded is older; a backfill from year 1 would read the recorder
# for nothing some 24,000 times.
FIRST_DAY: Final = date(1970, 1, 1)
DAY: Final = vol.All(cv.date, vol.Range(min=FIRST_DAY, max=LAST_DAY))

EXPORT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_METER): cv.string,
        vol.Required(ATTR_LEVEL): vol.In(LEVELS),
        vol.Required(ATTR_START): DAY,
        vol.Required(ATTR_END): DAY,
        vol.Optional(ATTR_CSV, default=False): cv.boolean,
        vol.Optional(ATTR_FORMAT): vol.In(EXPORT_FORMATS),
    }
)
IMPORT_SCHEMA: Final = vol.Schema(
    {vol.Required(ATTR_METER): cv.string, vol.Required(ATTR_PATH): cv.string}
)
BACKFILL_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(ATTR_METER): cv.string,
        vol.Optional(ATTR_START): DAY,
        vol.Optional(ATTR_END): DAY,
    }
)
# Actions without fields refuse any: a field the caller thinks is used would be ignored.
NO_FIELDS: Final = vol.Schema({})
SET_MAINTENANCE_SCHEMA: Final = vol.Schema({vol.Required(ATTR_ENABLED): cv.boolean})
RESTORE_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_SOURCE): vol.All(cv.string, vol.Length(min=1, max=2048)),
        vol.Optional(ATTR_METERS): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_DRY_RUN, default=False): cv.boolean,
    }
)

type Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]


def _admin_only(handler: Handler) -> Handler:
    """Refuse a call by a user who is not an administrator (automations run as no user)."""

    @wraps(handler)
    async def checked(call: ServiceCall) -> ServiceResponse:
        if call.context.user_id:
            user = await call.hass.auth.async_get_user(call.context.user_id)
            if user is None:
                raise UnknownUser(context=call.context, permission=POLICY_CONTROL)
            if not user.is_admin:
                raise Unauthorized(context=call.context, permission=POLICY_CONTROL)
        return await handler(call)

    return checked


def _file_error(err: OSError, path: Path | str) -> HomeAssistantError:
    """A file that could not be read or written, as a translated error naming it."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="file_error",
        translation_placeholders={"path": str(path), "error": err.strerror or str(err)},
    )


# -- choosing meters ------------------------------------------------------------------------------


def require_loaded_entry(hass: HomeAssistant) -> PowerStatsConfigEntry:
    """The loaded PowerStats entry, or the translated error an action shows without one."""
    entry = loaded_entry(hass)
    if entry is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_set_up")
    return entry


def _meter(hass: HomeAssistant, entry: PowerStatsConfigEntry, device_id: str) -> PowerStatsMeter:
    """The loaded meter whose device was chosen."""
    device = dr.async_get(hass).async_get(device_id)
    subentry_ids = {i for d, i in device.identifiers if d == DOMAIN} if device else set()
    meter = next((m for sid, m in entry.runtime_data.meters.items() if sid in subentry_ids), None)
    if meter is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_meter",
            translation_placeholders={"meter": device_id},
        )
    return meter


def _meters(hass: HomeAssistant, call: ServiceCall) -> list[PowerStatsMeter]:
    """The chosen meter, or every meter when none was chosen."""
    entry = require_loaded_entry(hass)
    if (device_id := call.data.get(ATTR_METER)) is not None:
        return [_meter(hass, entry, device_id)]
    meters = sorted(entry.runtime_data.meters.values(), key=lambda m: m.config.meter_id)
    if not meters:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_meters")
    return meters


# -- export ---------------------------------------------------------------------------------------


async def _async_export(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    (meter,) = _meters(hass, call)  # the schema requires a meter: exactly one
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
        "timezone": str(meter.tz),
        "columns": columns,
        "rows": rows,
    }
    stem = f"{meter.config.meter_id}-{level}-{first.isoformat()}-{last.isoformat()}"
    folder = Path(hass.config.path(EXPORT_DIR))
    if call.data[ATTR_CSV]:
        # The rows as shown; `.rows.csv`, so it never shares a name with a lossless export.
        target = folder / f"{stem}.rows.csv"
        try:
            await hass.async_add_executor_job(_write_rows_csv, target, columns, rows)
        except OSError as err:
            raise _file_error(err, target) from err
        response["csv_path"] = str(target)
    if (file_format := call.data.get(ATTR_FORMAT)) is not None:
        # A lossless file of the stored buckets, which `powerstats.import` reads back.
        response["path"] = await _async_write_export(
            hass, meter, level, first, last, file_format, folder / f"{stem}.{file_format}"
        )
    return response


def _write_rows_csv(target: Path, columns: list[str], rows: list[list[Any]]) -> None:
    """Write the rows as CSV, atomically. Executor only."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    write_atomically(target, buffer.getvalue().encode("utf-8"))


async def _async_write_export(
    hass: HomeAssistant,
    meter: PowerStatsMeter,
    level: Level,
    first: date,
    last: date,
    file_format: ExportFormat,
    target: Path,
) -> str:
    """Write the stored buckets of `level` for local days `first`..`last` losslessly."""
    tz = meter.tz
    bucket: BucketLevel = BUCKET_OF_LEVEL[level]  # type: ignore[assignment]
    exported_buckets = select(
        meter.history,
        meter_id=meter.config.meter_id,
        kind=meter.config.kind.value,
        timezone=str(tz),
        currency=hass.config.currency,
        levels=(bucket,),
        begin=day_bounds(first, tz)[0],
        end=day_bounds(last, tz)[1],
    )
    exported = iso_local(dt_util.utcnow().timestamp(), tz)
    data = (
        to_json(exported_buckets, exported)
        if file_format == "json"
        else to_csv(exported_buckets, exported)
    )
    try:
        await hass.async_add_executor_job(write_atomically, target, data)
    except OSError as err:
        raise _file_error(err, target) from err
    return str(target)


# -- import ---------------------------------------------------------------------------------------


def _resolve(hass: HomeAssistant, raw: str) -> Path:
    """The file to import: relative to HA's config folder, or an allow-listed absolute path."""
    path = Path(raw)
    if not path.is_absolute():
        path = Path(hass.config.path(raw))
    try:
        resolved = path.resolve()
    except ValueError:  # a NUL character: no file is named so
        raise _file_not_found(raw) from None
    config = Path(hass.config.config_dir).resolve()
    if not (resolved.is_relative_to(config) or hass.config.is_allowed_path(str(resolved))):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="import_path_not_allowed",
            translation_placeholders={"path": raw},
        )
    return resolved


def _file_not_found(raw: str) -> ServiceValidationError:
    """The caller's path names no file there is (or could be)."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="import_file_not_found",
        translation_placeholders={"path": raw},
    )


def _read_import(path: Path) -> bytes | None:
    """The file's bytes (None when missing), refusing huge files unread. Executor only."""
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_IMPORT_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError):
        return None
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:  # the caller's path, not the disk: no such file
            return None
        raise


async def _async_import(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    (meter,) = _meters(hass, call)
    raw_path: str = call.data[ATTR_PATH]
    path = await hass.async_add_executor_job(_resolve, hass, raw_path)
    try:
        data = await hass.async_add_executor_job(_read_import, path)
    except OSError as err:
        raise _file_error(err, raw_path) from err
    if data is None:
        raise _file_not_found(raw_path)
    tz = meter.tz
    live_from = ten_minute_start(meter.accumulator.accounted_until, tz)
    # Up to 64 MB of someone's file: read and checked off the event loop.
    reading = partial(parse, data, tz, str(tz), currency=hass.config.currency, not_after=live_from)
    try:
        imported = await hass.async_add_executor_job(reading)
    except ExportFileError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=err.key,
            translation_placeholders={"path": raw_path, **err.placeholders},
        ) from err
    landed = await meter.async_merge_backfill(
        ten_minutes=imported.ten_minutes, hours=imported.hours, days=imported.days
    )
    return {"meter": meter.config.meter_id, "buckets": imported.count, "landed_buckets": landed}


# -- backfill -------------------------------------------------------------------------------------


async def _async_backfill(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    meters = _meters(hass, call)
    entry = require_loaded_entry(hass)
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
        task = async_start_backfill(hass, entry.runtime_data, meter, first, last)
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="backfill_cancelled",
                    translation_placeholders={"meter": meter.config.name},
                ) from None
            raise
        except HomeAssistantError:
            raise
        except Exception as err:
            LOGGER.exception("Backfill of %s from the recorder failed", meter.config.name)
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="backfill_failed",
                translation_placeholders={"meter": meter.config.name, "error": str(err)},
            ) from err
        results[meter.config.meter_id] = result.as_response()
    return {"meters": results}


# -- restore --------------------------------------------------------------------------------------


async def _async_restore(call: ServiceCall) -> ServiceResponse:
    """Fill the gaps of meters from a published folder (see core/restore_plan.py)."""
    hass = call.hass
    entry = require_loaded_entry(hass)
    meters = {m.config.meter_id: m for m in entry.runtime_data.meters.values()}
    if not meters:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_meters")
    wanted = None
    # An empty list (a cleared picker, a template's empty list) means every meter, as no field.
    if devices := call.data.get(ATTR_METERS):
        wanted = [_meter(hass, entry, device).config.meter_id for device in devices]
    raw: str = call.data[ATTR_SOURCE]
    local = {
        meter_id: LocalMeter(
            meter_id,
            m.tz,
            str(m.tz),
            ten_minute_start(m.accumulator.accounted_until, m.tz),
            hass.config.currency,
        )
        for meter_id, m in meters.items()
    }
    # Everything is read and checked before anything is merged: a failure changes nothing.
    try:
        source = (
            UrlSource(hass, raw)
            if is_url(raw)
            else FolderSource(hass, await hass.async_add_executor_job(resolve_folder, hass, raw))
        )
        selection = select_meters(read_manifest(await source.read_manifest()), meters, wanted)
        restore = plan(selection, local, await source.read_files(selection.files))
    except (SourceError, RestoreError) as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=err.key,
            translation_placeholders={"source": shown(raw), **err.placeholders},
        ) from err
    dry_run: bool = call.data[ATTR_DRY_RUN]
    now = dt_util.utcnow().timestamp()
    report: dict[str, Any] = {}
    changed: list[PowerStatsMeter] = []
    for part in restore.meters:
        meter = meters[part.meter_id]
        outcomes = (preview if dry_run else apply)(meter.history, part, now)
        report[part.meter_id] = {o.level: {"rows": o.rows, "added": o.added} for o in outcomes}
        if not dry_run and any(o.added for o in outcomes):
            changed.append(meter)
    not_saved: list[str] = []
    for meter in changed:
        if not await meter.async_history_merged(now):
            not_saved.append(meter.config.name)
    if not_saved:
        raise history_not_saved(not_saved)
    return {
        "source": shown(raw),
        "dry_run": dry_run,
        "meters": report,
        "not_restored": list(restore.unmatched),
    }


# -- the dataset ----------------------------------------------------------------------------------


async def _async_rebuild_views(call: ServiceCall) -> ServiceResponse:
    entry = require_loaded_entry(call.hass)
    try:
        await entry.runtime_data.writer.async_refresh(force=True)
    except OSError as err:
        raise _file_error(err, entry.runtime_data.writer.root) from err
    return None


async def _async_publish(call: ServiceCall) -> ServiceResponse:
    publisher = require_loaded_entry(call.hass).runtime_data.publisher
    if not publisher.enabled:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="nothing_to_publish"
        )
    publisher.async_publish_now(may_replace=await async_is_admin(call.hass, call.context))
    return None


async def _async_set_maintenance(call: ServiceCall) -> ServiceResponse:
    publisher = require_loaded_entry(call.hass).runtime_data.publisher
    await publisher.async_set_maintenance(call.data[ATTR_ENABLED])
    return {"maintenance": publisher.state.maintenance}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the PowerStats actions."""
    register = hass.services.async_register
    register(
        DOMAIN,
        SERVICE_EXPORT,
        _admin_only(_async_export),
        schema=EXPORT_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    register(
        DOMAIN,
        SERVICE_IMPORT,
        _admin_only(_async_import),
        schema=IMPORT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    register(
        DOMAIN,
        SERVICE_BACKFILL,
        _admin_only(_async_backfill),
        schema=BACKFILL_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    register(
        DOMAIN,
        SERVICE_RESTORE,
        _admin_only(_async_restore),
        schema=RESTORE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    register(DOMAIN, SERVICE_REBUILD_VIEWS, _admin_only(_async_rebuild_views), schema=NO_FIELDS)
    register(DOMAIN, SERVICE_PUBLISH, _async_publish, schema=NO_FIELDS)
    register(
        DOMAIN,
        SERVICE_SET_MAINTENANCE,
        _async_set_maintenance,
        schema=SET_MAINTENANCE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
