"""Backfill: imports a meter's past from HA's recorder into its store (the HA side).

The recorder is read on its own executor, in chunks, newest raw states where the recorder still
keeps them and hourly long-term statistics before that; core/recorder_buckets.py turns the rows
into buckets, on HA's executor (years of them take seconds). The buckets are merged with
`History.merge_external`, which lands a bucket only where PowerStats has recorded nothing
itself, so live data is never overwritten and a second run over the same range changes
nothing. Time HA was not running (between two recorder runs) stays a gap, as it does in live
tracking.

One backfill runs per meter at a time, as a background task of the entry: unloading the entry
cancels it. Its state lives in the entry's runtime data. Progress shows as a persistent
notification in the user's language (the `common` translations) and in the log. When buckets
landed, the meter re-renders the files; publishing hears of it from the views writer.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter, PowerConverter

from .const import BACKFILL_STORAGE_VERSION, DOMAIN, LOGGER, backfill_store_key
from .core.accounting import ENERGY_UNITS, POWER_UNITS, Bucket, Kind, parse_last_reset
from .core.recorder_buckets import (
    HourStatistic,
    Imported,
    RecordedState,
    StateReplay,
    assemble,
    hours_from_energy_statistics,
    hours_from_power_statistics,
)
from .core.timegrid import DAY, HOUR, day_bounds, local_date, ten_minute_start

if TYPE_CHECKING:
    from homeassistant.components.recorder.core import Recorder

    from .meter import PowerStatsMeter
    from .runtime import PowerStatsData

# Without a range, look this far back for long-term statistics (they are kept forever).
DEFAULT_LOOKBACK_DAYS: Final = 5 * 366
STATISTICS_CHUNK: Final = 31 * DAY
STATES_CHUNK: Final = DAY
# The unit statistics are read in: HA converts them on reading to the unit the sensor shows
# now (which need not be the one they were recorded in) unless asked for one.
_READ_UNIT: Final = {
    Kind.POWER: (PowerConverter.UNIT_CLASS, "W"),
    Kind.ENERGY: (EnergyConverter.UNIT_CLASS, "kWh"),
}
# A state exactly on a chunk boundary belongs to the later chunk; the recorder's range is
# exclusive at both ends, so each chunk asks from a second earlier and drops what it has seen.
_OVERLAP: Final = 1.0


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What a backfill found in the recorder and what of it landed in the store."""

    meter_id: str
    begin: int
    end: int
    statistic_hours: int
    state_buckets: int
    days: int
    kwh: float
    landed: int
    first_day: date | None
    last_day: date | None

    def as_response(self) -> dict[str, Any]:
        """The action's response data."""
        return {
            "meter": self.meter_id,
            "begin": dt_util.utc_from_timestamp(self.begin).isoformat(),
            "end": dt_util.utc_from_timestamp(self.end).isoformat(),
            "found_days": self.days,
            "found_kwh": round(self.kwh, 4),
            "from_statistics_hours": self.statistic_hours,
            "from_states_buckets": self.state_buckets,
            "landed_buckets": self.landed,
            "first_day": None if self.first_day is None else self.first_day.isoformat(),
            "last_day": None if self.last_day is None else self.last_day.isoformat(),
        }


@dataclass(slots=True)
class Backfill:
    """The backfill state of one meter: the running task and how far it got."""

    task: asyncio.Task[BackfillResult] | None = None
    progress: float = 0.0
    last: BackfillResult | None = None
    listeners: list[Callable[[], None]] = field(default_factory=list)


def backfill_of(data: PowerStatsData, meter: PowerStatsMeter) -> Backfill:
    """The backfill state of a meter (created on first use)."""
    return data.backfills.setdefault(meter.subentry_id, Backfill())


# -- the recorder side (executor only) -----------------------------------------------------------


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _read_states(
    hass: HomeAssistant, entity_id: str, begin: float, end: float, with_start_state: bool
) -> list[RecordedState]:
    """States of the source in `[begin, end)`, and the one in effect at `begin` when asked
    (`with_start_state`). Recorder executor only."""
    from homeassistant.components.recorder import history

    found = history.state_changes_during_period(
        hass,
        _utc(begin - _OVERLAP),
        _utc(end),
        entity_id,
        no_attributes=False,
        include_start_time_state=with_start_state,
    )
    tz = dt_util.get_default_time_zone()
    return [
        RecordedState(
            s.last_changed_timestamp,
            s.state,
            s.attributes.get("unit_of_measurement"),
            s.attributes.get("state_class"),
            parse_last_reset(s.attributes.get("last_reset"), tz),
        )
        for s in found.get(entity_id, [])
        if with_start_state or s.last_changed_timestamp >= begin
    ]


def _first_state_time(
    hass: HomeAssistant, entity_id: str, begin: float, end: float
) -> float | None:
    """When the recorder's states of the source start (at `begin` at the earliest)."""
    from homeassistant.components.recorder import history

    found = history.state_changes_during_period(
        hass, _utc(begin), _utc(end), entity_id, no_attributes=True, limit=1
    )
    times = [s.last_changed_timestamp for s in found.get(entity_id, [])]
    return max(begin, min(times)) if times else None


def _recorder_stops(hass: HomeAssistant, begin: float, end: float) -> list[tuple[float, float]]:
    """Spans in `[begin, end)` when the recorder (so HA) was not running. Executor only."""
    from homeassistant.components.recorder.db_schema import RecorderRuns
    from homeassistant.helpers.recorder import session_scope

    # The recorder purges runs with its states, so there are few; filtered here, not in SQL,
    # to stay clear of how each database compares naive and aware times.
    with session_scope(hass=hass, read_only=True) as session:
        rows = [(run.start, run.end) for run in session.query(RecorderRuns)]
    runs = sorted(
        (_ts(start), None if stop is None else _ts(stop))
        for start, stop in rows
        if _ts(start) < end
    )
    stops: list[tuple[float, float]] = []
    previous_end: float | None = None
    for start, run_end in runs:
        if previous_end is not None and start > previous_end:
            stops.append((previous_end, start))
        stop = end if run_end is None else run_end
        previous_end = stop if previous_end is None else max(previous_end, stop)
    if previous_end is not None and previous_end < end:
        stops.append((previous_end, end))
    return [(a, b) for a, b in stops if b > begin and a < end]


def _ts(moment: datetime) -> float:
    """A recorder time (naive UTC on SQLite, aware elsewhere) as Unix seconds."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _statistics_unit(hass: HomeAssistant, entity_id: str) -> tuple[bool, str | None]:
    """Whether the source has long-term statistics, and their unit. Executor only."""
    from homeassistant.components.recorder import statistics

    meta = statistics.get_metadata(hass, statistic_ids={entity_id})
    if entity_id not in meta:
        return False, None
    return True, meta[entity_id][1]["unit_of_measurement"]


def _read_statistics(
    hass: HomeAssistant, entity_id: str, kind: Kind, begin: float, end: float
) -> list[HourStatistic]:
    """Hourly statistics of the source starting in `[begin, end)`, in W or kWh when recorded
    in a unit PowerStats reads (see `_readable_statistics_unit`). Executor only."""
    from homeassistant.components.recorder import statistics

    unit_class, unit = _READ_UNIT[kind]
    rows = statistics.statistics_during_period(
        hass,
        _utc(begin),
        _utc(end),
        {entity_id},
        "hour",
        {unit_class: unit},
        {"sum"} if kind is Kind.ENERGY else {"mean", "min", "max"},
    ).get(entity_id, [])
    return [
        HourStatistic(
            start=float(row["start"]),
            mean=row.get("mean"),
            min=row.get("min"),
            max=row.get("max"),
            sum=row.get("sum"),
        )
        for row in rows
    ]


def _readable_statistics_unit(kind: Kind, recorded_in: str | None) -> str | None:
    """The unit `_read_statistics` gives values in; None when they were recorded in one that
    live tracking does not read either (HA then gives them as recorded)."""
    units = POWER_UNITS if kind is Kind.POWER else ENERGY_UNITS
    return _READ_UNIT[kind][1] if recorded_in in units else None


# -- the plan ---------------------------------------------------------------------------------


def _ceil_hour(t: float) -> float:
    return math.ceil(t / HOUR) * HOUR


def _with_stops(
    states: Sequence[RecordedState], stops: Sequence[tuple[float, float]]
) -> list[RecordedState]:
    """The states with a gap at each moment HA stopped: its downtime is never covered."""
    marks = [RecordedState(a, "unavailable", None) for a, _ in stops]
    # At equal times the stop comes after the state: HA recorded it before stopping.
    merged = [(s.t, 0, s) for s in states] + [(m.t, 1, m) for m in marks]
    return [s for _, _, s in sorted(merged, key=lambda x: (x[0], x[1]))]


async def async_read_recorder(
    hass: HomeAssistant,
    meter: PowerStatsMeter,
    begin: float,
    end: float,
    progress: Callable[[float], None],
) -> tuple[Imported, int, int]:
    """Buckets of `[begin, end)` from the recorder; also how many came from each source."""
    from homeassistant.helpers.recorder import get_instance

    recorder: Recorder = get_instance(hass)
    run = recorder.async_add_executor_job
    tz = meter.tz
    entity_id = meter.config.entity_id
    kind = meter.config.kind
    price = meter.config.price  # a fixed price; a price entity's past is not imported

    window = max(begin, dt_util.utcnow().timestamp() - recorder.keep_days * DAY)
    first = await run(_first_state_time, hass, entity_id, window, end) if window < end else None
    states_from = end if first is None else min(end, max(begin, _ceil_hour(first)))

    has_statistics, recorded_in = await run(_statistics_unit, hass, entity_id)
    unit = _readable_statistics_unit(kind, recorded_in)
    read_statistics = has_statistics and states_from > begin
    # Statistics hours start on the UTC hour, which a local midnight need not be; an energy
    # hour also needs the `sum` of the hour before it as its baseline. Progress counts the
    # chunks from there, so it never passes 100 %.
    stats_from = math.floor(begin / HOUR) * HOUR - (HOUR if kind is Kind.ENERGY else 0)
    stat_chunks = math.ceil((states_from - stats_from) / STATISTICS_CHUNK) if read_statistics else 0
    state_chunks = max(0, math.ceil((end - states_from) / STATES_CHUNK))
    total = max(1, stat_chunks + state_chunks)
    done = 0

    stats: list[HourStatistic] = []
    if read_statistics:
        chunk_begin: float = stats_from
        while chunk_begin < states_from:
            chunk_end = min(states_from, chunk_begin + STATISTICS_CHUNK)
            stats += await run(_read_statistics, hass, entity_id, kind, chunk_begin, chunk_end)
            chunk_begin = chunk_end
            done += 1
            progress(done / total)
    # Turning years of rows into buckets takes seconds: off the event loop, like the reads.
    convert = hass.async_add_executor_job
    statistic_hours = await convert(_statistic_hours, tz, kind, stats, unit, price)

    ten_minutes: list[Bucket] = []
    if states_from < end:
        stops = await run(_recorder_stops, hass, states_from, end)
        replay = StateReplay(kind, tz, states_from, price)
        chunk_begin = states_from
        while chunk_begin < end:
            chunk_end = min(end, chunk_begin + STATES_CHUNK)
            first_chunk = chunk_begin == states_from
            chunk = await run(_read_states, hass, entity_id, chunk_begin, chunk_end, first_chunk)
            in_chunk = [
                (max(a, chunk_begin), b) for a, b in stops if a < chunk_end and b > chunk_begin
            ]
            ten_minutes += await convert(_replayed, replay, chunk, in_chunk)
            chunk_begin = chunk_end
            done += 1
            progress(done / total)
        ten_minutes += replay.finish(ten_minute_start(end, tz))

    imported = await convert(_assembled, tz, ten_minutes, statistic_hours, begin, end)
    return imported, len(statistic_hours), len(ten_minutes)


def _replayed(
    replay: StateReplay, states: Sequence[RecordedState], stops: Sequence[tuple[float, float]]
) -> list[Bucket]:
    """The 10-minute buckets one chunk of states closes (a day of a sensor that reports every
    second holds 86,400 states)."""
    return replay.feed(_with_stops(states, stops))


def _statistic_hours(
    tz: tzinfo, kind: Kind, stats: Sequence[HourStatistic], unit: str | None, price: float | None
) -> list[Bucket]:
    """Hour buckets from the statistics read (`unit`: what `_read_statistics` gave them in)."""
    if kind is Kind.ENERGY:
        return hours_from_energy_statistics(tz, stats, unit, price)
    return hours_from_power_statistics(tz, stats, unit, price)


def _assembled(
    tz: tzinfo,
    ten_minutes: Sequence[Bucket],
    statistic_hours: Sequence[Bucket],
    begin: float,
    end: float,
) -> Imported:
    """Every level of `[begin, end)` from both sources."""
    return _within(assemble(tz, ten_minutes, statistic_hours), begin, end)


def _within(imported: Imported, begin: float, end: float) -> Imported:
    """Only buckets that start in the range (a split statistic can spill into the day before)."""

    def keep(buckets: Sequence[Bucket]) -> tuple[Bucket, ...]:
        return tuple(b for b in buckets if begin <= b.start < end)

    return Imported(keep(imported.ten_minutes), keep(imported.hours), keep(imported.days))


# -- running one ------------------------------------------------------------------------------


def backfill_range(
    meter: PowerStatsMeter, now: float, first: date | None, last: date | None
) -> tuple[int, int]:
    """The instants a backfill covers: whole local days, and never the live open bucket."""
    tz = meter.tz
    today = local_date(now, tz)
    first = first or today - timedelta(days=DEFAULT_LOOKBACK_DAYS)
    begin = day_bounds(first, tz)[0]
    live_from = ten_minute_start(meter.accumulator.accounted_until, tz)
    end = live_from if last is None else min(live_from, day_bounds(last, tz)[1])
    return begin, max(begin, end)


async def async_run_backfill(
    hass: HomeAssistant,
    state: Backfill,
    meter: PowerStatsMeter,
    first: date | None,
    last: date | None,
) -> BackfillResult:
    """Import the recorder's history of a meter's source; returns what was found and landed."""
    notice = _Notice(hass, meter, await _async_texts(hass))
    now = dt_util.utcnow().timestamp()
    begin, end = backfill_range(meter, now, first, last)

    def progress(fraction: float) -> None:
        state.progress = fraction
        notice.show("backfill_progress", percent=f"{fraction:.0%}")
        for listener in list(state.listeners):
            listener()

    LOGGER.info(
        "Backfill of %s from the recorder: %s to %s",
        meter.config.name,
        dt_util.utc_from_timestamp(begin).isoformat(),
        dt_util.utc_from_timestamp(end).isoformat(),
    )
    progress(0.0)
    try:
        imported, hours, buckets = await async_read_recorder(hass, meter, begin, end, progress)
        # A setup backfill may end before its entry has finished setting up; one whose entry
        # failed or is unloading meanwhile stores nothing.
        if meter.entry.state not in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_IN_PROGRESS):
            raise asyncio.CancelledError
        landed = await meter.async_merge_backfill(
            ten_minutes=imported.ten_minutes, hours=imported.hours, days=imported.days
        )
    except asyncio.CancelledError:
        LOGGER.info("Backfill of %s was cancelled; nothing of it was stored", meter.config.name)
        notice.dismiss()
        raise
    except Exception:
        notice.dismiss()
        raise
    days = [local_date(b.start, meter.tz) for b in imported.days]
    result = BackfillResult(
        meter_id=meter.config.meter_id,
        begin=begin,
        end=end,
        statistic_hours=hours,
        state_buckets=buckets,
        days=len(days),
        kwh=imported.kwh,
        landed=landed,
        first_day=min(days) if days else None,
        last_day=max(days) if days else None,
    )
    state.last, state.progress = result, 1.0
    if result.days == 0:
        notice.show("backfill_nothing_found")
    else:
        notice.show(
            "backfill_done",
            first_day=str(result.first_day),
            last_day=str(result.last_day),
            days=str(result.days),
            kwh=f"{result.kwh:.3f}",
            landed=str(result.landed),
        )
    if result.days == 0:
        LOGGER.info(
            "No history of %s was found in the recorder (neither states nor long-term "
            "statistics); nothing was imported",
            meter.config.entity_id,
        )
    else:
        LOGGER.info(
            "Backfill of %s: %s days, %.3f kWh found in the recorder, %s buckets filled",
            meter.config.name,
            result.days,
            result.kwh,
            result.landed,
        )
    return result


async def _async_texts(hass: HomeAssistant) -> dict[str, str]:
    """PowerStats' `common` texts in the user's language (English where one is missing)."""
    return await async_get_translations(hass, hass.config.language, "common", [DOMAIN])


class _Notice:
    """The persistent notification of one meter's backfill, in the user's language."""

    def __init__(self, hass: HomeAssistant, meter: PowerStatsMeter, texts: dict[str, str]) -> None:
        self._hass = hass
        self._texts = texts
        self._id = f"{DOMAIN}_backfill_{meter.config.meter_id}"
        self._names = {"meter": meter.config.name, "entity_id": meter.config.entity_id}

    def _text(self, key: str, **placeholders: str) -> str:
        template = self._texts.get(f"component.{DOMAIN}.common.{key}", key)
        return template.format(**self._names, **placeholders)

    def show(self, key: str, **placeholders: str) -> None:
        persistent_notification.async_create(
            self._hass,
            self._text(key, **placeholders),
            title=self._text("backfill_title"),
            notification_id=self._id,
        )

    def dismiss(self) -> None:
        persistent_notification.async_dismiss(self._hass, self._id)


@callback
def async_start_backfill(
    hass: HomeAssistant,
    data: PowerStatsData,
    meter: PowerStatsMeter,
    first: date | None,
    last: date | None,
) -> asyncio.Task[BackfillResult]:
    """Start a backfill as a background task of the entry (unloading cancels it)."""
    state = backfill_of(data, meter)
    if state.task is not None and not state.task.done():
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="backfill_running",
            translation_placeholders={"meter": meter.config.name},
        )
    task = meter.entry.async_create_background_task(
        hass,
        async_run_backfill(hass, state, meter, first, last),
        f"{DOMAIN} backfill {meter.config.meter_id}",
    )
    state.task = task
    return task


# -- at setup ---------------------------------------------------------------------------------


def setup_marker(hass: HomeAssistant, subentry_id: str) -> Store[dict[str, Any]]:
    """Remembers that a meter's setup backfill completed, so it runs once per meter."""
    key = backfill_store_key(subentry_id)
    return Store(hass, BACKFILL_STORAGE_VERSION, key, atomic_writes=True)


@callback
def async_setup_backfill(
    hass: HomeAssistant, data: PowerStatsData, meter: PowerStatsMeter, enabled: bool
) -> None:
    """Backfill a new meter once, after setup, when its choice is on (the default).

    The choice is remembered either way: a meter added without it is not backfilled later
    because it was reconfigured (the action still backfills on demand).
    """

    async def _async_once() -> None:
        marker = setup_marker(hass, meter.subentry_id)
        if (await marker.async_load() or {}).get("done"):
            return
        if not enabled:
            await marker.async_save({"done": True, "skipped": True})
            return
        if "recorder" not in hass.config.components:
            return
        from homeassistant.helpers.recorder import get_instance

        if not await get_instance(hass).async_db_ready:
            return  # no database: nothing to import (tried again at the next start)
        try:
            task = async_start_backfill(hass, data, meter, None, None)
        except HomeAssistantError:
            return  # one is already running
        try:
            await task
        except Exception:
            # Also when its buckets landed but could not be saved: only recorded as done once
            # they are on disk, so a crash before that runs it again at the next start.
            LOGGER.exception(
                "Backfill of %s from the recorder failed; it is tried again at the next start "
                "or with the powerstats.backfill action",
                meter.config.name,
            )
            return
        await marker.async_save({"done": True})

    meter.entry.async_create_background_task(
        hass, _async_once(), f"{DOMAIN} setup backfill {meter.config.meter_id}"
    )
