"""PowerStats: exact, durable, publishable electricity history. Setup and unload only."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE, EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import STORAGE_DIR
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from . import panel
from .backfill import async_setup_backfill, setup_marker
from .const import (
    CONF_BACKFILL,
    CONF_METER_ID,
    CONF_STORED,
    DATA_DIR,
    DOMAIN,
    LOGGER,
    PUBLISH_ISSUES,
    SUBENTRY_METER,
    publish_issue_id,
    sensor_removed_issue_id,
    store_issue_id,
)
from .core.fileio import set_aside
from .core.publish_plan import PublishedMeter
from .http import async_register_view
from .meter import PowerStatsMeter
from .publish_settings import PublishSettings
from .publisher import Publisher, dashboard_dir, publish_store
from .runtime import PowerStatsConfigEntry, PowerStatsData
from .services import async_setup_services
from .store import MeterStore
from .views_writer import ViewsWriter

# Platforms of the dataset and its meters; a platform added later needs its module and a line.
PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
METERS_STARTING_TOGETHER = 8
# The files in .storage a meter leaves (meter_store_key, backfill_store_key, the journal);
# group 1 is its subentry id. The publisher's store has a dot more and never matches.
_METER_STORE = re.compile(rf"{DOMAIN}\.(?:backfill\.)?([^.]+)(?:\.journal)?")
_METER_FOLDER = re.compile(r"[a-z0-9_]+")  # a meter id, as config_flow makes them


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions (once, whether or not PowerStats is set up)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> bool:
    """Set up the dataset: its meters, files, panel and publishing.

    Everything is registered for teardown as it starts. HA runs those teardowns for the
    errors raised here (not for any other exception), so a setup that fails at any step
    leaves no listener, timer or pending save behind.
    """
    try:
        await _async_start(hass, entry)
    except OSError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="files_not_writable",
            translation_placeholders={"path": hass.config.path(DATA_DIR), "error": str(err)},
        ) from err
    except Exception as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="setup_failed",
            translation_placeholders={"error": repr(err)},
        ) from err
    return True


async def _async_start(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> None:
    # What this start runs with, read in one go before anything awaits: a change made while
    # it runs is caught up with at its end.
    running_with = _settings(entry)
    meter_subentries = [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_METER]
    tz = dt_util.get_default_time_zone()
    root = Path(hass.config.path(DATA_DIR))
    meters: dict[str, PowerStatsMeter] = {}
    writer = ViewsWriter(hass, tz, root, lambda: meters)
    settings = PublishSettings.from_entry(entry.data, entry.options)

    def published_meters() -> list[PublishedMeter]:
        levels = settings.levels if settings is not None else frozenset()
        return [
            PublishedMeter(m.config.meter_id, levels & frozenset(m.config.levels))
            for m in meters.values()
        ]

    publisher = Publisher(
        hass,
        entry,
        settings,
        rendered=lambda: {path: served.data for path, served in writer.files.items()},
        meters=published_meters,
        dashboard_dir=await hass.async_add_executor_job(dashboard_dir),
        dashboard_skip=frozenset({panel.PANEL_MODULE}),
        on_maintenance=writer.async_set_maintenance,
    )
    data = PowerStatsData(writer=writer, publisher=publisher, meters=meters)
    entry.runtime_data = data

    # Every store is read before anything is written: whether the folder's files are this
    # dataset's own is told by its meters' stores.
    starting = _new_meters(hass, entry, meter_subentries)
    await _async_each(starting, PowerStatsMeter.async_load)
    if not any(meter.saved_before for meter in starting):
        await _async_set_aside_files_of_another(hass, root)
    await _async_forget_removed_meanwhile(hass, entry, root)
    await _async_each(starting, PowerStatsMeter.async_start)
    meters.update((meter.subentry_id, meter) for meter in starting)

    entry.async_on_unload(publisher.async_stop)
    await publisher.async_load()
    writer.maintenance = publisher.state.maintenance
    await writer.async_refresh()
    publisher.async_start()
    entry.async_on_unload(writer.async_start_tick())
    # The copy in the config folder lags the rendered files by design; a stop leaves it whole.
    entry.async_on_unload(writer.async_copy_to_disk)

    async def copy_at_stop(_: Event) -> None:
        await writer.async_copy_to_disk()

    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, copy_at_stop))

    @callback
    def zone_changed(_: Event) -> None:
        # Days, the files and the nightly publish all follow the zone: start again in the new
        # one (each meter's days move to it as they load).
        if dt_util.get_default_time_zone() != tz:
            LOGGER.info("Home Assistant's time zone changed; PowerStats starts again in it")
            hass.config_entries.async_schedule_reload(entry.entry_id)

    entry.async_on_unload(hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, zone_changed))
    async_register_view(hass)
    entry.async_on_unload(partial(panel.async_unregister_panel, hass))
    await panel.async_register_panel(hass)
    _async_setup_backfills(hass, entry, meters.values())
    data.running_with = running_with
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if _settings(entry) != running_with:
        # Changed while starting (a meter added as the dataset restarted, say), when no
        # update listener was there to hear it. A task, as HA runs the listener: a reload
        # waits for this setup to finish.
        hass.async_create_task(_async_entry_updated(hass, entry), "PowerStats caught up")


async def _async_set_aside_files_of_another(hass: HomeAssistant, root: Path) -> None:
    """Move aside what `root` holds: a dataset none of whose meters saved yet (PowerStats
    added, perhaps again) did not write it, and keeps it rather than writing over it.

    A meter's store is named by its subentry id, so only this dataset can have written it: one
    found at start, even one not marked `stored` yet (first saved at a stop), shows that the
    folder's files are this dataset's own.
    """
    stamp = dt_util.now().strftime("%Y%m%d-%H%M%S")
    aside = await hass.async_add_executor_job(set_aside, root, stamp)
    if aside is not None:
        LOGGER.warning(
            "%s held PowerStats files this set-up did not write; they were moved to %s, "
            "from where powerstats.restore can read them back",
            root,
            aside,
        )


def _new_meters(
    hass: HomeAssistant, entry: PowerStatsConfigEntry, subentries: list[ConfigSubentry]
) -> list[PowerStatsMeter]:
    """A meter for each subentry, each registered for teardown (one not started writes nothing)."""
    data = entry.runtime_data
    meters = [
        PowerStatsMeter(
            hass,
            entry,
            subentry,
            data.writer.tz,
            partial(data.writer.async_refresh_served, history_changed=True),
        )
        for subentry in subentries
    ]
    for meter in meters:
        entry.async_on_unload(meter.async_stop)
    return meters


async def _async_each(
    meters: list[PowerStatsMeter], step: Callable[[PowerStatsMeter], Awaitable[None]]
) -> None:
    """`step` of every meter; raises the first failure once every one has run to its end.

    A few side by side (each waits mostly on the executor, reading its store), not all at
    once: the ones whose reads finish together resume in one go. None is left half done.
    """
    results: list[BaseException | None] = []
    for i in range(0, len(meters), METERS_STARTING_TOGETHER):
        results += await asyncio.gather(
            *(step(meter) for meter in meters[i : i + METERS_STARTING_TOGETHER]),
            return_exceptions=True,
        )
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _async_start_meters(
    hass: HomeAssistant, entry: PowerStatsConfigEntry, subentries: list[ConfigSubentry]
) -> list[PowerStatsMeter]:
    """Start meters that join the running dataset; they are its meters once all started."""
    started = _new_meters(hass, entry, subentries)
    await _async_each(started, PowerStatsMeter.async_start)
    for meter in started:
        entry.runtime_data.meters[meter.subentry_id] = meter
    return started


def _async_setup_backfills(
    hass: HomeAssistant, entry: PowerStatsConfigEntry, meters: Iterable[PowerStatsMeter]
) -> None:
    for meter in meters:
        subentry = entry.subentries.get(meter.subentry_id)
        # A meter removed while it started is forgotten once the start is done: no backfill.
        if subentry is not None:
            async_setup_backfill(
                hass, entry.runtime_data, meter, subentry.data.get(CONF_BACKFILL, True)
            )


def _settings(entry: PowerStatsConfigEntry) -> dict[str, Any]:
    """Everything the dataset was set up from, except what PowerStats itself notes down."""
    return {
        "data": dict(entry.data),
        "options": dict(entry.options),
        "subentries": {
            subentry_id: (
                subentry.subentry_type,
                {k: v for k, v in subentry.data.items() if k != CONF_STORED},
            )
            for subentry_id, subentry in entry.subentries.items()
        },
    }


async def _async_entry_updated(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> None:
    """Settings, meters or the token changed: start over with them (history is in the stores).

    The one place PowerStats reloads: every flow finishes by updating the entry or a subentry.
    A meter that was only added joins the running dataset instead: restarting every other meter
    for it would make adding meters one by one cost the square of their number; one that cannot
    start reloads the dataset. A meter whose subentry is gone is forgotten once the dataset runs
    without it.
    """
    data: PowerStatsData | None = getattr(entry, "runtime_data", None)
    if data is None or not data.running_with:
        return  # not running: a start in progress catches up with changes at its end
    async with data.joining:
        if data.unloading:
            return
        now = _settings(entry)
        if now == data.running_with:
            return  # only what PowerStats notes down itself changed (a meter's `stored` mark)
        before = data.running_with
        added = set(now["subentries"]) - set(before["subentries"])
        kept_alike = all(
            now["subentries"].get(subentry_id) == shape
            for subentry_id, shape in before["subentries"].items()
        )
        if (
            now["data"] == before["data"]
            and now["options"] == before["options"]
            and kept_alike
            and data.add_meter_entities is not None
            and all(now["subentries"][s][0] == SUBENTRY_METER for s in added)
        ):
            data.running_with = now
            subentries = [entry.subentries[subentry_id] for subentry_id in sorted(added)]
            try:
                joined = await _async_start_meters(hass, entry, subentries)
            except Exception:
                # Logged only, the failure would show nowhere in HA until the next start, which
                # fails on it. Reloading now fails the same way, so HA shows the setup error
                # (and stops every meter of the failed start) where it shows any other.
                LOGGER.exception(
                    "Could not start the meter(s) %s; PowerStats is reloaded to show why",
                    ", ".join(s.title for s in subentries),
                )
            else:
                for meter in joined:
                    data.add_meter_entities(meter)
                _async_setup_backfills(hass, entry, joined)
                await data.writer.async_refresh()
                return
    if _failed_to_unload(entry):
        # HA reloads nothing it failed to unload, until it restarts (then the change applies).
        LOGGER.warning(
            "PowerStats could not be unloaded, so it runs on as it was; the change made to it "
            "applies when Home Assistant restarts"
        )
        return
    gone = {
        subentry_id: meter.config.meter_id
        for subentry_id, meter in data.meters.items()
        if subentry_id not in entry.subentries
    }
    await hass.config_entries.async_reload(entry.entry_id)
    if _failed_to_unload(entry):
        # Still running with them (HA could not unload it): a store or folder dropped now would
        # be written again half. They are forgotten at the next start, as when disabled.
        return
    for subentry_id, meter_id in gone.items():
        await _async_forget_meter(hass, entry, subentry_id, meter_id)


def _failed_to_unload(entry: PowerStatsConfigEntry) -> bool:
    """Whether HA could not unload the dataset, which then runs on until HA restarts."""
    return entry.state is ConfigEntryState.FAILED_UNLOAD


async def _async_forget_meter(
    hass: HomeAssistant, entry: PowerStatsConfigEntry, subentry_id: str, meter_id: str
) -> None:
    """A meter was removed: drop its store, setup marker, repair issue and files.

    HA itself removes the meter's device and entities with its subentry.
    """
    await MeterStore(hass, subentry_id).async_remove()
    await setup_marker(hass, subentry_id).async_remove()
    _drop_meter_issues(hass, subentry_id)
    if any(s.data.get(CONF_METER_ID) == meter_id for s in entry.subentries.values()):
        # A meter added again under the same name, meanwhile, took the id: the folder is its.
        return
    await hass.async_add_executor_job(
        _remove_meter_folder, Path(hass.config.path(DATA_DIR)), meter_id
    )


def _drop_meter_issues(hass: HomeAssistant, subentry_id: str) -> None:
    """A meter's repair issues go with it (its store's, its sensor's)."""
    ir.async_delete_issue(hass, DOMAIN, store_issue_id(subentry_id))
    ir.async_delete_issue(hass, DOMAIN, sensor_removed_issue_id(subentry_id))


async def _async_forget_removed_meanwhile(
    hass: HomeAssistant, entry: PowerStatsConfigEntry, root: Path | None
) -> None:
    """Forget the meters removed while the dataset was not running (disabled, or failed to
    start), when nothing heard it; `root` None leaves the files' folder alone."""
    meter_ids = {s.data.get(CONF_METER_ID) for s in entry.subentries.values()}
    stores, folders = await hass.async_add_executor_job(
        _left_behind, Path(hass.config.path(STORAGE_DIR)), root, set(entry.subentries), meter_ids
    )
    for subentry_id in sorted(stores):
        LOGGER.info("Dropping the saved history of a meter removed meanwhile (%s)", subentry_id)
        await MeterStore(hass, subentry_id).async_remove()
        await setup_marker(hass, subentry_id).async_remove()
        _drop_meter_issues(hass, subentry_id)
    for meter_id in folders:
        assert root is not None
        LOGGER.info("Removing the files of a meter removed meanwhile: %s", root / meter_id)
        await hass.async_add_executor_job(_remove_meter_folder, root, meter_id)


def _left_behind(
    storage: Path, root: Path | None, subentry_ids: set[str], meter_ids: set[Any]
) -> tuple[set[str], list[str]]:
    """Subentry ids with stores, and meter folders in `root`, of meters the dataset no longer
    has. Executor only."""
    try:
        names = [path.name for path in storage.iterdir()]
    except OSError:
        names = []
    stores = {
        match[1]
        for name in names
        if (match := _METER_STORE.fullmatch(name)) and match[1] not in subentry_ids
    }
    try:
        found = [] if root is None else list(root.iterdir())
    except OSError:
        found = []
    folders = [
        path.name
        for path in found
        if _METER_FOLDER.fullmatch(path.name)
        and path.name not in meter_ids
        and _holds_files_only(path)
    ]
    return stores, sorted(folders)


def _holds_files_only(folder: Path) -> bool:
    """Whether `folder` is a real folder with files in it and nothing else, as a meter's is."""
    try:
        return (
            folder.is_dir()
            and not folder.is_symlink()
            and all(child.is_file() and not child.is_symlink() for child in folder.iterdir())
        )
    except OSError:
        return False


def _remove_meter_folder(root: Path, meter_id: str) -> None:
    """Delete `<root>/<meter_id>/` (never anything outside root). Executor only."""
    folder = (root / meter_id).resolve()
    if folder.parent == root.resolve() and folder.is_dir():
        shutil.rmtree(folder)


async def async_unload_entry(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> bool:
    """Unload the dataset; the teardowns registered at setup save everything up to now.

    A meter still joining finishes first, so that its teardowns run with the others.
    """
    data = entry.runtime_data
    async with data.joining:
        data.unloading = True
    unloaded = False
    try:
        unloaded = await _async_unload_platforms(hass, entry)
    finally:
        # Unloaded, the teardowns run next: no meter may join meanwhile. A platform that failed
        # to unload (returned False or raised) leaves the whole dataset running, as HA marks it
        # failed to unload: changes to it are heard again, not ignored until HA restarts.
        data.unloading = unloaded
    return unloaded


async def _async_unload_platforms(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> bool:
    """Unload every platform, as HA's `async_unload_platforms` does, each on its own.

    When another platform fails to unload the dataset keeps running, and a meter may still
    join it; once the sensor platform is down, its sensors have no platform to join (HA would
    add them to the one taken down, where no unload ever removes them).
    """
    results = await asyncio.gather(
        *(hass.config_entries.async_forward_entry_unload(entry, p) for p in PLATFORMS),
        return_exceptions=True,
    )
    if results[PLATFORMS.index(Platform.SENSOR)] is True:
        entry.runtime_data.add_meter_entities = _no_sensors
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return all(results)


@callback
def _no_sensors(meter: PowerStatsMeter) -> None:
    LOGGER.warning(
        "Meter %s joined PowerStats while its sensors are unloaded (the dataset failed to "
        "unload); its sensors appear when Home Assistant restarts",
        meter.config.name,
    )


async def async_remove_entry(hass: HomeAssistant, entry: PowerStatsConfigEntry) -> None:
    """PowerStats was deleted: drop every store and repair issue (its files stay on disk)."""
    await _async_forget_removed_meanwhile(hass, entry, None)
    for subentry_id in entry.subentries:
        await MeterStore(hass, subentry_id).async_remove()
        await setup_marker(hass, subentry_id).async_remove()
        _drop_meter_issues(hass, subentry_id)
    await publish_store(hass, entry.entry_id).async_remove()
    for issue in PUBLISH_ISSUES:
        ir.async_delete_issue(hass, DOMAIN, publish_issue_id(issue, entry.entry_id))
