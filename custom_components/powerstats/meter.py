"""The HA meter: one meter subentry's live accounting, wired to HA's state machine and storage.

`PowerStatsMeter` feeds state changes of the source (and price) sensor into the pure
`MeterAccumulator`, closes buckets when the views writer's tick says so, rolls them into the
`History`, saves the store, and tells its entities to refresh. The loaded meters live in the
entry's runtime data, keyed by subentry id.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from homeassistant.components.sensor import ATTR_LAST_RESET, ATTR_STATE_CLASS
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, CONF_ENTITY_ID, CONF_NAME
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.entity_registry import EventEntityRegistryUpdatedData
from homeassistant.helpers.event import (
    async_track_entity_registry_updated_event,
    async_track_state_change_event,
)
from homeassistant.util import dt as dt_util

from .const import (
    CONF_KIND,
    CONF_LEVELS,
    CONF_METER_ID,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PRICE_MODE,
    CONF_STORED,
    DOMAIN,
    ISSUE_SENSOR_REMOVED,
    LOGGER,
    PRICE_ENTITY,
    PRICE_FIXED,
    PRICE_NONE,
    STOP_SAVE_DELAY,
    sensor_removed_issue_id,
)
from .core.accounting import (
    Bucket,
    Kind,
    MeterAccumulator,
    parse_last_reset,
    parse_price,
    parse_reading,
)
from .core.rollup import History, Totals
from .core.timegrid import TEN_MINUTES
from .core.views import LEVELS, MAX_NAME_LENGTH, Level, MeterInfo
from .store import (
    JOURNAL_LINES_PER_SNAPSHOT,
    Loaded,
    MeterStore,
    StoreData,
    async_load,
    encode,
    journal_line,
)


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """A meter's settings, from its subentry's data."""

    meter_id: str
    name: str
    entity_id: str
    kind: Kind
    price_mode: str
    price: float | None
    price_entity: str | None
    levels: tuple[Level, ...]

    @property
    def priced(self) -> bool:
        """Whether cost is computed."""
        return self.price_mode != PRICE_NONE

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> MeterConfig:
        """Read the settings of a meter subentry."""
        mode = data.get(CONF_PRICE_MODE, PRICE_NONE)
        price = data.get(CONF_PRICE)
        wanted = data.get(CONF_LEVELS, LEVELS)
        return cls(
            meter_id=data[CONF_METER_ID],
            name=data[CONF_NAME],
            entity_id=data[CONF_ENTITY_ID],
            kind=Kind(data[CONF_KIND]),
            price_mode=mode,
            price=float(price) if mode == PRICE_FIXED and price is not None else None,
            price_entity=data.get(CONF_PRICE_ENTITY) if mode == PRICE_ENTITY else None,
            levels=tuple(level for level in LEVELS if level in wanted),
        )


def meter_stopped(meter_name: str) -> HomeAssistantError:
    """The error of buckets brought to a meter that stopped (reloaded) while they were read."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="meter_stopped",
        translation_placeholders={"meter": meter_name},
    )


def history_not_saved(meter_names: Iterable[str]) -> HomeAssistantError:
    """The error of buckets merged into meters whose history could not be saved."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="history_not_saved",
        translation_placeholders={"meter": ", ".join(meter_names)},
    )


class PowerStatsMeter:
    """One meter's live accounting, canonical history and store."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        subentry: ConfigSubentry,
        tz: tzinfo,
        on_history_changed: Callable[[], Awaitable[object]],
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.subentry_id = subentry.subentry_id
        self.tz = tz
        self.config = MeterConfig.from_data(subentry.data)
        # Whether the meter's store was written before (a missing one is then a loss).
        self._stored = bool(subentry.data.get(CONF_STORED))
        self._stopped = False  # stopped for good: a reload makes another meter object
        # What `async_load` read, until `async_start` takes it.
        self._read: Loaded | None = None
        # Whether this meter saved before this start: marked `stored`, or its store was found
        # when read (one first saved at a stop is marked only at the next start). Only this
        # entry writes its meters' stores: a fresh dataset has none.
        self.saved_before = self._stored
        # Whether a snapshot is known to be on disk (found at start, or one that landed since).
        # Until one is, journal lines are of no use (a journal without its snapshot is set
        # aside), so every boundary tries one.
        self._on_disk = False
        self.store = MeterStore(hass, subentry.subentry_id)
        self.history = History(tz)
        self.accumulator = MeterAccumulator(self.config.kind, tz, self._now())
        # Re-renders the dataset's files after buckets were merged in (backfill, import).
        self._on_history_changed = on_history_changed
        self.recovered = False
        self.totals: Totals = self.history.totals(self._now(), None)
        self._listeners: list[CALLBACK_TYPE] = []
        self._failing_listeners: set[CALLBACK_TYPE] = set()
        self._unsubs: list[CALLBACK_TYPE] = []
        self._source_valid = True
        # The sensor was removed from HA, and the repair issue saying so is up.
        self._source_removed = False
        # Its state was removed while it is not in the entity registry: removed for good, or
        # only reloaded (its integration sets it again at once). Told at the next boundary.
        self._source_state_removed = False
        # Set once the stored history was read: only then may stopping write the store.
        self._loaded = False
        # The snapshot's epoch, the buckets closed since the last save, the journal's length.
        self._epoch = 0
        self._unsaved: list[Bucket] = []
        self._journal_lines = 0
        self._save_failing = False
        # Buckets were merged in (backfill, import, restore) and no snapshot holding them has
        # reached the disk: journal lines carry only what live tracking closed, so every
        # boundary tries a snapshot until one lands.
        self._merged_unsaved = False
        # The boundary of the day (its count since the epoch, modulo a day's) at which this
        # meter folds its journal into the snapshot: spread by id, so that meters set up
        # together do not all rewrite their snapshots at the same boundary.
        self._fold_turn = zlib.crc32(subentry.subentry_id.encode()) % JOURNAL_LINES_PER_SNAPSHOT
        # Journal appends and snapshots one at a time, in order.
        self._save_lock = asyncio.Lock()
        self._info: MeterInfo | None = None

    @property
    def info(self) -> MeterInfo:
        """The meter as the files name it."""
        info = MeterInfo(
            id=self.config.meter_id,
            # The forms refuse longer names; one saved before they did is cut, not left to
            # make files the board and other readers refuse.
            name=self.config.name[:MAX_NAME_LENGTH],
            entity_id=self.config.entity_id,
            kind=self.config.kind.value,
            timezone=str(self.tz),
            currency=self.hass.config.currency if self.config.priced else None,
            priced=self.config.priced,
        )
        # The same object while nothing changed: one asked for at every boundary and kept
        # until the next would otherwise pile up for Python's slow full garbage collections.
        if self._info is None or self._info != info:
            self._info = info
            return info
        return self._info

    @staticmethod
    def _now() -> float:
        return dt_util.utcnow().timestamp()

    def _when(self, state: State | None) -> float:
        """When a state took effect: its own time, never later than now (a state stamped
        ahead, by a timestamp of its own or a clock put back since, holds from when it came)."""
        now = self._now()
        return now if state is None else min(state.last_updated_timestamp, now)

    # -- life cycle ------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the store, writing nothing (a stop before `async_start` writes nothing either);
        `saved_before` is known from here. Optional: `async_start` reads the store otherwise."""
        self._read = await self._async_read()

    async def _async_read(self) -> Loaded:
        loaded = await async_load(
            self.hass,
            self.store,
            self.config.kind,
            self.tz,
            self.config.name,
            expected=self._stored,
        )
        # Recovered: a store was there (unreadable), or a marked one is missing.
        self.saved_before = self._stored or loaded.found or loaded.recovered
        return loaded

    async def async_start(self) -> None:
        """Load the store, account for the downtime, and start following the source."""
        loaded = self._read or await self._async_read()
        self._read = None  # its history is the meter's from here
        self.history, self.recovered = loaded.history, loaded.recovered
        self._epoch, self._journal_lines = loaded.epoch, loaded.journal_lines
        self._loaded = True
        now = self._now()
        if loaded.accumulator is not None:
            self.accumulator = loaded.accumulator
            # HA was not running since the last save: that time is a gap. This also closes the
            # bucket left open at shutdown and rolls up every day missed meanwhile.
            self._add(self.accumulator.gap(now))
        else:
            self.accumulator = MeterAccumulator(self.config.kind, self.tz, now)
        self.history.prune(now)
        if self.config.price_mode == PRICE_FIXED:
            self.accumulator.set_price(now, self.config.price)
        elif self.config.price_entity is not None:
            self._feed_price(now, self.hass.states.get(self.config.price_entity))
            self._unsubs.append(
                async_track_state_change_event(
                    self.hass, self.config.price_entity, self._on_price_change
                )
            )
            self._unsubs.append(
                async_track_entity_registry_updated_event(
                    self.hass, self.config.price_entity, self._on_price_renamed
                )
            )
        self._feed_source(now, self.hass.states.get(self.config.entity_id))
        self._review_source_removed()
        self._unsubs.append(
            async_track_state_change_event(self.hass, self.config.entity_id, self._on_source_change)
        )
        self._unsubs.append(
            async_track_entity_registry_updated_event(
                self.hass, self.config.entity_id, self._on_source_registry_updated
            )
        )
        self._refresh_totals(now)
        if loaded.found:
            # Nothing is written: what the downtime closed is closed the same way again from the
            # same store after a crash, and goes into the next boundary's journal line.
            self._arm_stop_save()
            self._snapshot_on_disk()
        else:
            await self.async_save()

    def _own_subentry(self) -> ConfigSubentry | None:
        """The meter's subentry; None once the meter or PowerStats was removed (a dataset HA
        failed to unload runs on with its removed meters until HA restarts)."""
        if self.hass.config_entries.async_get_entry(self.entry.entry_id) is not self.entry:
            return None
        return self.entry.subentries.get(self.subentry_id)

    async def async_stop(self) -> None:
        """Stop following the source and save everything up to now (clean stop: no loss).

        Also undoes a start that failed halfway; a store that was never read is left alone.
        """
        self._stopped = True
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._loaded:
            # Saving now also cancels the delayed save armed for HA's shutdown.
            async with self._save_lock:
                await self.store.async_save(self._store_data_at_stop())

    # -- events ----------------------------------------------------------------------------

    @callback
    def _on_source_change(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        self._feed_source(self._when(new_state), new_state)
        if new_state is not None:
            self._source_back()
        elif er.async_get(self.hass).async_get(self.config.entity_id) is None:
            # Not the registry's removal (that event tells it): a sensor outside the registry.
            self._source_state_removed = True

    @callback
    def _on_source_registry_updated(self, event: Event[EventEntityRegistryUpdatedData]) -> None:
        action = event.data["action"]
        if action == "remove":
            # Deleted, or its integration removed: unlike a sensor that is unavailable or not
            # set up yet, it does not come back by itself, and the meter measures nothing.
            self._raise_source_removed()
        elif action == "create":
            self._source_back()  # added again under its entity id
        else:
            # The user renamed the source's entity id: follow it (the entry reloads, history
            # stays).
            self._follow_rename(event, CONF_ENTITY_ID)

    @callback
    def _on_price_renamed(self, event: Event[EventEntityRegistryUpdatedData]) -> None:
        # The same for the price sensor: under its old id it would price nothing from now on.
        self._follow_rename(event, CONF_PRICE_ENTITY)

    def _follow_rename(self, event: Event[EventEntityRegistryUpdatedData], key: str) -> None:
        data = event.data
        if data["action"] != "update" or "old_entity_id" not in data:
            return
        subentry = self._own_subentry()
        if subentry is None:
            # A removed meter running on until HA restarts, which drops it: there is no setting
            # left to follow the sensor in, and nothing it measures from here is kept.
            return
        self.hass.config_entries.async_update_subentry(
            self.entry, subentry, data={**subentry.data, key: data["entity_id"]}
        )

    @callback
    def _on_price_change(self, event: Event[EventStateChangedData]) -> None:
        new_state = event.data["new_state"]
        self._feed_price(self._when(new_state), new_state)

    def _feed_source(self, t: float, state: State | None) -> None:
        value = state_class = last_reset = None
        if state is not None:
            unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
            value = parse_reading(state.state, unit, self.config.kind)
            if self.config.kind is Kind.ENERGY:
                # Read at every state: how an energy sensor counts is in its attributes (a
                # power sensor's states, the frequent ones, need neither).
                state_class = state.attributes.get(ATTR_STATE_CLASS)
                last_reset = parse_last_reset(state.attributes.get(ATTR_LAST_RESET), self.tz)
        self._add(self.accumulator.feed_value(t, value, state_class, last_reset))
        # Logged once when an outage starts and once when it ends, not per state. Whether the
        # value is valid is the accumulator's word: it also refuses what is no valid value of
        # this source alone (a counter of `total_increasing` below zero).
        valid = self.accumulator.has_value
        if not valid and self._source_valid:
            LOGGER.info(
                "%s has no valid %s value (%s); not covered until it returns",
                self.config.entity_id,
                self.config.kind.value,
                "no state" if state is None else state.state,
            )
        elif valid and not self._source_valid:
            LOGGER.info("%s has a valid value again; covered from now on", self.config.entity_id)
        self._source_valid = valid

    # -- the source removed from Home Assistant ---------------------------------------------

    def _raise_source_removed(self) -> None:
        if self._own_subentry() is None:
            return  # the meter itself was removed: nothing left to fix
        self._source_removed = True
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            sensor_removed_issue_id(self.subentry_id),
            is_fixable=False,
            # Kept over a restart: a sensor missing at a start is not told from one not set up
            # yet, so the issue could not be raised again then.
            is_persistent=True,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_SENSOR_REMOVED,
            translation_placeholders={"meter": self.config.name, "sensor": self.config.entity_id},
        )

    def _source_back(self) -> None:
        """The sensor is there again (a state, or in the registry again): no issue to show."""
        self._source_state_removed = False
        if self._source_removed:
            self._source_removed = False
            ir.async_delete_issue(self.hass, DOMAIN, sensor_removed_issue_id(self.subentry_id))

    def _source_known(self) -> bool:
        """Whether HA knows the sensor: in the entity registry, or holding a state."""
        return (
            self.hass.states.get(self.config.entity_id) is not None
            or er.async_get(self.hass).async_get(self.config.entity_id) is not None
        )

    def _review_source_removed(self) -> None:
        """At start, the issue raised before: kept while it names the meter's sensor and HA
        knows nothing of that sensor (named as the meter is now), dropped when the meter
        measures another one or the sensor came back while the meter was not running."""
        issue_id = sensor_removed_issue_id(self.subentry_id)
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, issue_id)
        if issue is None:
            return
        named = (issue.translation_placeholders or {}).get("sensor")
        if named == self.config.entity_id and not self._source_known():
            self._raise_source_removed()
        else:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    def _feed_price(self, t: float, state: State | None) -> None:
        price = (
            parse_price(
                state.state,
                state.attributes.get(ATTR_UNIT_OF_MEASUREMENT),
                self.hass.config.currency,
            )
            if state is not None
            else None
        )
        self._add(self.accumulator.set_price(t, price))

    def _add(self, closed: list[Bucket]) -> None:
        for bucket in closed:
            self.history.add(bucket)
        self._unsaved.extend(closed)

    @callback
    def async_close_due(self, boundary: int) -> None:
        """The tick: close the bucket ending at `boundary`, save, refresh the entities."""
        if self._source_state_removed:
            self._source_state_removed = False
            if not self._source_known():
                self._raise_source_removed()
        self._add(self.accumulator.advance(boundary))
        self.history.prune(boundary)
        self._refresh_totals(boundary)
        self.hass.async_create_task(self.async_save_boundary(boundary), eager_start=True)

    async def async_save_boundary(self, boundary: int) -> None:
        """Keep what closed since the last save: a journal line, or a snapshot once a day.

        Saved at every close, so a crash loses at most the open bucket. With nothing closed and
        nothing in the open bucket there is nothing a crash could lose, and nothing is written.
        The snapshot comes at the meter's own boundary of the day, or sooner when the journal
        already holds a day of lines; at every boundary while merged buckets, or the meter's
        first snapshot, have not reached the disk.
        """
        async with self._save_lock:
            if self._stopped:
                # The stop saved everything up to it. What follows is its successor's (a reload)
                # or nobody's (the meter or PowerStats was removed: a journal line now would
                # outlive the store it belongs to).
                return
            turn = (boundary // TEN_MINUTES) % JOURNAL_LINES_PER_SNAPSHOT == self._fold_turn
            if (
                (turn and self._journal_lines)
                or self._journal_lines + 1 >= JOURNAL_LINES_PER_SNAPSHOT
                or self._merged_unsaved
                or not self._on_disk
            ) and await self._async_save_snapshot():
                return
            if not self._unsaved and self.accumulator.open_bucket() is None:
                return
            line = journal_line(self._epoch, self._unsaved, self.accumulator)
            in_line = len(self._unsaved)
            try:
                await self.store.async_append(line)
            except OSError as err:
                # Kept for the next line (and in the history for the next snapshot).
                self._save_failed(err)
                return
            del self._unsaved[:in_line]
            self._journal_lines += 1
            self._save_failing = False

    async def async_save(self) -> None:
        """Save the whole history and the open bucket now (a snapshot); a stopped meter saved
        at its stop and writes nothing more."""
        async with self._save_lock:
            if not self._stopped:
                await self._async_save_snapshot()

    async def _async_save_snapshot(self) -> bool:
        """Write the whole history; whether it reached the disk.

        The journal is dropped only once the snapshot is on disk. The epoch moves on either
        way, so the lines written next are read on top of whichever snapshot the disk holds
        (one that failed may still land at HA's final write); the buckets closed since the
        last line stay unsaved until a line or a snapshot holds them.
        """
        # The history is copied here (arrays: quick); turning a year of it into JSON lists is
        # not, so that runs in the executor, on the copy.
        self._epoch += 1
        epoch, in_snapshot = self._epoch, len(self._unsaved)
        data = await self.hass.async_add_executor_job(
            encode, self.history.copy(), self.accumulator.to_json(), epoch
        )
        if not await self.store.async_save_snapshot(data):
            self._save_failed(None)
            # HA's Store drops the pending final write when a write fails: armed again, so a
            # clean stop still writes the whole history.
            self._arm_stop_save()
            return False
        del self._unsaved[:in_snapshot]
        self._merged_unsaved = False
        self._journal_lines = await self.store.async_drop_journal_before(epoch)
        self._save_failing = False
        self._arm_stop_save()
        self._snapshot_on_disk()
        return True

    def _snapshot_on_disk(self) -> None:
        """A snapshot is on disk: from now on a missing store is a loss (`stored` mark).

        Noted only once one landed: HA's Store returns as if it wrote when it did not, and a
        meter whose first snapshot failed had no store to lose when it starts after a crash.
        """
        if self._on_disk:
            return
        self._on_disk = True
        subentry = self._own_subentry()  # gone if removed meanwhile
        if subentry is not None and not subentry.data.get(CONF_STORED):
            # The entry's update listener ignores this mark: it never reloads the dataset.
            self.hass.config_entries.async_update_subentry(
                self.entry, subentry, data={**subentry.data, CONF_STORED: True}
            )

    def _save_failed(self, err: OSError | None) -> None:
        # Once per run of failures (a full or failing disk): each boundary tries again.
        if not self._save_failing:
            LOGGER.warning(
                "Could not save the history of %s%s; kept in memory, tried again at every "
                "10-minute boundary",
                self.config.name,
                f" ({err})" if err is not None else " (see the error above)",
            )
        self._save_failing = True

    async def async_merge_backfill(
        self,
        *,
        ten_minutes: Iterable[Bucket] = (),
        hours: Iterable[Bucket] = (),
        days: Iterable[Bucket] = (),
    ) -> int:
        """Merge buckets computed elsewhere (HA's recorder); returns how many landed.

        Never overwrites a bucket PowerStats recorded itself (see `History.merge_external`).
        Saves and refreshes the files when anything landed; raises `history_not_saved` when
        the save did not reach the disk.
        """
        if self._stopped:
            # Its successor (a reload) owns the store now: a snapshot from here would write
            # over the successor's and drop its journal lines.
            raise meter_stopped(self.config.name)
        now = self._now()
        landed = self.history.merge_external(now, ten_minutes=ten_minutes, hours=hours, days=days)
        if landed and not await self.async_history_merged(now):
            raise history_not_saved([self.config.name])
        return landed

    async def async_history_merged(self, now: float) -> bool:
        """Buckets were merged into the history at `now`: save, refresh totals and files.

        Returns whether the save reached the disk. Only a snapshot keeps merged buckets (they
        are not journalled: a backfill brings years of them, the journal holds one small line
        per boundary), and a crash before one lands loses them: the caller must not count them
        as kept (a setup backfill is not recorded as done, an action says so). They stay in
        memory meanwhile, and every boundary and HA's final write try the snapshot again.
        Raises `meter_stopped` when the meter stopped first (a restore reading its source while
        the dataset reloaded): its successor owns the store, which a snapshot would overwrite.
        """
        async with self._save_lock:
            if self._stopped:
                raise meter_stopped(self.config.name)
            saved = await self._async_save_snapshot()
            self._merged_unsaved = not saved
        self._refresh_totals(now)
        await self._on_history_changed()
        return saved

    def _arm_stop_save(self) -> None:
        # Keeps a delayed save pending; HA runs it at its final write on shutdown.
        self.store.async_delay_save(self._store_data_at_stop, STOP_SAVE_DELAY)

    def _store_data_at_stop(self) -> StoreData:
        # HA's final write: the whole history as it is now, in one go.
        self._add(self.accumulator.advance(self._now()))
        return encode(self.history, self.accumulator.to_json(), self._new_epoch())

    def _new_epoch(self) -> int:
        # A snapshot starts a new epoch: the journal lines written before it are in it.
        self._epoch += 1
        self._unsaved.clear()
        return self._epoch

    # -- entities --------------------------------------------------------------------------

    def _refresh_totals(self, now: float) -> None:
        self.totals = self.history.totals(now, self.accumulator.open_bucket())
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                # An entity HA refuses to write must not stop the saving, the files or the
                # other meters: it is tried again at the next change, and logged once.
                if listener not in self._failing_listeners:
                    self._failing_listeners.add(listener)
                    LOGGER.exception("Could not update an entity of meter %s", self.config.meter_id)
            else:
                self._failing_listeners.discard(listener)

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> Callable[[], None]:
        """Call `listener` whenever the totals change; returns the remover."""
        self._listeners.append(listener)

        def remove() -> None:
            self._listeners.remove(listener)
            self._failing_listeners.discard(listener)

        return remove
