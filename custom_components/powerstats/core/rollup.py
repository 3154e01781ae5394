"""Rollups and retention: the canonical history of one meter (10 minutes → hours → days).

Pure: no Home Assistant import and no clock reads. Hours and days are always recomputed from
their children with exact sums (`math.fsum`), so the order in which buckets arrive never
changes the result, and adding the same bucket twice is harmless.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from datetime import date, timedelta, tzinfo
from typing import Any, Final, Literal

from .accounting import Bucket, mean_power
from .bucket_table import BucketTable, Field
from .timegrid import bucket_slot, day_bounds, day_start, hour_seconds, hour_start, local_date

# Retention: the contract asks for >= 48 h of 10-minute and >= 8 days of hourly buckets; one
# extra hour / day of slack keeps the oldest row of a rolling window complete.
TEN_MINUTE_RETENTION: Final = 49 * 3600
HOUR_RETENTION: Final = 9 * 86400

# What the files' rounding of coverage (3 decimals, docs/data-format.md) may move covered time
# by, as a share of the bucket.
COVERAGE_SLACK: Final = 0.001
BUCKET_FIELDS: Final = ("start", "seconds", "kwh", "covered", "min_w", "max_w", "cost", "backfill")


def combine(buckets: Iterable[Bucket], start: int, seconds: int) -> Bucket | None:
    """One bucket spanning `buckets` (None when there are none). Independent of their order."""
    parts = list(buckets)
    if not parts:
        return None
    mins = [b.min_w for b in parts if b.min_w is not None]
    maxs = [b.max_w for b in parts if b.max_w is not None]
    costs = [b.cost for b in parts if b.cost is not None]
    return Bucket(
        start=start,
        seconds=seconds,
        kwh=math.fsum(b.kwh for b in parts),
        covered=math.fsum(b.covered for b in parts),
        min_w=min(mins) if mins else None,
        max_w=max(maxs) if maxs else None,
        cost=math.fsum(costs) if costs else None,
        backfill=math.fsum(b.backfill for b in parts),
    )


def share_of(bucket: Bucket, part: float, start: int, seconds: int) -> Bucket:
    """The share `part` (0 to 1) of `bucket`, as a bucket at `start` lasting `seconds`.

    Energy, covered time, cost and backfill in proportion, as if spread evenly over the bucket
    (an estimate); its lowest and highest power as they are (the share's lie between them).
    """
    return Bucket(
        start=start,
        seconds=seconds,
        kwh=bucket.kwh * part,
        covered=bucket.covered * part,
        min_w=bucket.min_w,
        max_w=bucket.max_w,
        cost=None if bucket.cost is None else bucket.cost * part,
        backfill=bucket.backfill * part,
    )


def combine_span(
    table: BucketTable, first: int, end: int, start: int, seconds: int
) -> Bucket | None:
    """`combine` of the buckets at positions `first` to `end` (exclusive) of `table`.

    Read from its columns: a tick rolls an hour and a day up for every meter, and building a
    bucket per child (24 for a day) was most of that.
    """
    if first >= end:
        return None

    def present(field: Field) -> list[float]:
        return [v for v in table.column(field, first, end) if not math.isnan(v)]

    mins, maxs, costs = present("min_w"), present("max_w"), present("cost")
    return Bucket(
        start=start,
        seconds=seconds,
        kwh=math.fsum(table.column("kwh", first, end)),
        covered=math.fsum(table.column("covered", first, end)),
        min_w=min(mins) if mins else None,
        max_w=max(maxs) if maxs else None,
        cost=math.fsum(costs) if costs else None,
        backfill=math.fsum(table.column("backfill", first, end)),
    )


@dataclass(frozen=True, slots=True)
class Totals:
    """What the meter's sensors show: this day/week/month/year so far."""

    energy_today: float
    energy_week: float
    energy_month: float
    energy_year: float
    mean_w_today: float | None
    peak_w_today: float | None
    cost_today: float | None
    cost_month: float | None
    coverage_today: float
    today_start: int
    week_start: int
    month_start: int
    year_start: int


class History:
    """The canonical buckets of one meter: 10-minute, hourly and daily, keyed by start.

    Each level is a `BucketTable` (compact columns, not an object per bucket).
    """

    __slots__ = ("days", "hours", "merges", "ten_minutes", "tz", "version")

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        # Bumped by every change, so a reader can tell "nothing changed" without comparing.
        self.version = 0
        # Bumped by every merge of buckets computed elsewhere: past buckets may have changed,
        # not only the newest ones the tick closes.
        self.merges = 0
        self.ten_minutes = BucketTable()
        self.hours = BucketTable()
        self.days = BucketTable()

    # -- building ------------------------------------------------------------------------

    def add(self, bucket: Bucket) -> None:
        """Record a closed 10-minute bucket measured live and roll it up."""
        self.ten_minutes[bucket.start] = bucket
        self.version += 1
        hour = hour_start(bucket.start, self.tz)
        self._rollup_hour(hour)
        self._rollup_day(local_date(hour, self.tz))

    def _rollup_hour(self, hour: int) -> None:
        rolled = self._hour_of_children(hour)
        if rolled is not None:
            self.hours[hour] = rolled

    def _rollup_day(self, day: date) -> None:
        start, end = day_bounds(day, self.tz)
        rolled = self._day_of_children(start, end)
        if rolled is not None:
            self.days[start] = rolled

    def merge_external(
        self,
        now: float,
        *,
        ten_minutes: Iterable[Bucket] = (),
        hours: Iterable[Bucket] = (),
        days: Iterable[Bucket] = (),
    ) -> int:
        """Merge buckets computed elsewhere (HA's recorder, an export, a published folder).

        Returns how many of the given buckets landed. A bucket lands only where nothing is
        stored, so live data is never overwritten. An hour or day that gained children is
        rolled up again only where that makes it more complete (it covers more time): a day
        tracked live in part takes in the hours merged beside its own, while a day that is
        already whole (restored from a day file, say) is not replaced by the sum of hours
        merged after it, rounded apart from it. An empty hour or day takes the bucket given
        for it, unless its new children cover more. Rollups are redone only where every child
        is still retained (10-minute children for the last 49 h, hourly children for the last
        9 days); older days are taken as given. Set `backfill` on recorder buckets (normally
        equal to `covered`).
        """
        landed = 0
        ten_horizon = now - TEN_MINUTE_RETENTION
        hour_horizon = now - HOUR_RETENTION
        given_hours = {b.start: b for b in hours if b.start >= hour_horizon}
        given_days = {b.start: b for b in days}
        had_hours, had_days = set(self.hours), set(self.days)
        touched_hours: set[int] = set()
        touched_days: set[date] = set()
        for b in ten_minutes:
            if b.start >= ten_horizon and b.start not in self.ten_minutes:
                self.ten_minutes[b.start] = b
                touched_hours.add(hour_start(b.start, self.tz))
                landed += 1
        for hour in touched_hours:
            if hour >= ten_horizon:
                rolled = self._hour_of_children(hour)
                if self._settle(self.hours, hour, rolled, given_hours.get(hour)):
                    touched_days.add(local_date(hour, self.tz))
        for start, b in given_hours.items():
            if start not in self.hours:
                self.hours[start] = b
                touched_days.add(local_date(start, self.tz))
        for day in touched_days:
            start, end = day_bounds(day, self.tz)
            if start >= hour_horizon:
                rolled = self._day_of_children(start, end)
                self._settle(self.days, start, rolled, given_days.get(start))
        for start, b in given_days.items():
            if start not in self.days:
                self.days[start] = b
        landed += sum(s not in had_hours and self.hours.get(s) == b for s, b in given_hours.items())
        landed += sum(s not in had_days and self.days.get(s) == b for s, b in given_days.items())
        # Any merge may have changed stored buckets (not only the slots counted as landed).
        self.version += 1
        self.merges += 1
        return landed

    @staticmethod
    def _settle(
        level: MutableMapping[int, Bucket], start: int, rolled: Bucket | None, given: Bucket | None
    ) -> bool:
        """Keep the most complete of what is stored, the rollup and the given bucket.

        Returns whether the stored bucket changed. A stored bucket is kept unless the rollup
        covers more; an empty slot takes the given bucket unless the rollup covers more. "More"
        is by more than the published files' rounding of coverage (a thousandth of the bucket),
        so a bucket rebuilt from a file is not replaced by a rollup of rows rounded apart.
        """
        stored = level.get(start)
        base = stored if stored is not None else given
        if rolled is not None and (
            base is None or rolled.covered > base.covered + COVERAGE_SLACK * rolled.seconds
        ):
            level[start] = rolled
            return True
        if stored is None and given is not None:
            level[start] = given
            return True
        return False

    def _hour_of_children(self, hour: int) -> Bucket | None:
        seconds = hour_seconds(hour, self.tz)
        first, end = self.ten_minutes.bisect(hour), self.ten_minutes.bisect(hour + seconds)
        return combine_span(self.ten_minutes, first, end, hour, seconds)

    def _day_of_children(self, start: int, end: int) -> Bucket | None:
        # Every hour stored within the day, not a fixed stride from its midnight: where the
        # clock moves by half an hour (Lord Howe Island), the later hours are off that stride.
        hours = self.hours
        return combine_span(hours, hours.bisect(start), hours.bisect(end), start, end - start)

    def move_from_zone(self, was: tzinfo) -> None:
        """The history was kept in the zone `was`, and the meter now counts in `self.tz`.

        Hours and 10-minute buckets are instants and stay where they are on this zone's grid;
        those off it (offsets apart by a part of an hour) are spread over it (`onto_grid`).
        The days the kept hours cover are rolled up again from them on this zone's midnights;
        an older day keeps its date, moved from `was`'s midnight to this zone's midnight of the
        same date (so the day where the two meet may count the hours between the two midnights
        twice or not at all).
        """
        moved = BucketTable()
        for day in self.days.buckets():
            start, end = day_bounds(local_date(day.start, was), self.tz)
            moved[start] = replace(day, start=start, seconds=end - start)
        self.days = moved
        self._spread_onto_grid()
        self._roll_days_over(self.hours)
        self.version += 1
        self.merges += 1  # past buckets changed, not only the newest

    def onto_grid(self) -> None:
        """Spread the 10-minute and hourly buckets kept off this zone's grid over it.

        Offsets apart by a part of an hour (+05:45 and UTC) start one zone's hours between the
        other's, and by a part of 10 minutes its 10-minute buckets too: no row of a view is
        theirs. Each such 10-minute bucket goes into the slots it overlaps, in proportion to
        the overlap (`share_of`: an estimate), added to what a slot holds; the new hours are
        rolled up from them (exact where the grids of 10 minutes agree, as with +05:30 and
        UTC), and the days of the hours that changed are rolled up again.
        """
        hours = self._spread_onto_grid()
        if hours:
            self._roll_days_over(hours)
            self.version += 1
            self.merges += 1

    def _spread_onto_grid(self) -> set[int]:
        """`onto_grid` but for the days; returns the starts of the hours that changed.

        An hour off the grid is dropped: its 10-minute buckets go onto the grid on their own,
        and only what it holds beyond them (merged without them, or theirs dropped by
        retention) is spread over the new hours, so nothing is counted twice.
        """
        hours, tz = self.hours, self.tz
        rests: dict[int, list[Bucket]] = {}
        changed: set[int] = set()
        for hour in hours.buckets():
            start, seconds = bucket_slot("hour", hour.start, tz)
            if (start, seconds) == (hour.start, hour.seconds):
                continue
            del hours[hour.start]
            end = hour.start + hour.seconds
            ten = self.ten_minutes
            first, stop = ten.bisect(hour.start), ten.bisect(end)
            rest = _less(hour, combine_span(ten, first, stop, hour.start, 0))
            children = [
                (b.start, b.start + b.seconds) for b in map(ten.bucket_at, range(first, stop))
            ]
            spread: dict[int, list[Bucket]] = {}
            # The rest was measured where the hour has no 10-minute buckets.
            self._shares(rest, "hour", spread, _gaps(hour.start, end, children))
            changed.update(spread)
            if rest.covered > COVERAGE_SLACK * hour.seconds:
                for slot, parts in spread.items():
                    rests.setdefault(slot, []).extend(parts)
        changed.update(hour_start(start, tz) for start in self._spread(self.ten_minutes, "10min"))
        for hour_begin in changed:
            parts = [
                *filter(None, [self._hour_of_children(hour_begin)]),
                *rests.get(hour_begin, []),
            ]
            _set_or_drop(
                hours, hour_begin, combine(parts, hour_begin, hour_seconds(hour_begin, tz))
            )
        return changed

    def _spread(self, level: BucketTable, bucket: Literal["10min", "hour"]) -> set[int]:
        """Spread the buckets of `level` off this zone's `bucket` grid over the slots they
        overlap, added to what a slot holds; returns the starts of the slots that took a share."""
        shares: dict[int, list[Bucket]] = {}
        for b in level.buckets():
            if bucket_slot(bucket, b.start, self.tz) != (b.start, b.seconds):
                del level[b.start]
                self._shares(b, bucket, shares)
        for start, parts in shares.items():
            stored = level.get(start)
            combined = combine([*parts, *filter(None, [stored])], start, parts[0].seconds)
            if combined is not None:  # never None: there are parts
                level[start] = combined
        return set(shares)

    def _shares(
        self,
        b: Bucket,
        bucket: Literal["10min", "hour"],
        into: dict[int, list[Bucket]],
        spans: list[tuple[int, int]] | None = None,
    ) -> None:
        """Add the shares of `b` in the slots of this zone's `bucket` grid to `into`, in
        proportion to their overlap with `b` (or with `spans` of it, where it was measured)."""
        spans = spans or [(b.start, b.start + b.seconds)]
        total = sum(end - begin for begin, end in spans)
        for begin, end in spans:
            start, seconds = bucket_slot(bucket, begin, self.tz)
            while start < end:
                overlap = min(end, start + seconds) - max(begin, start)
                into.setdefault(start, []).append(share_of(b, overlap / total, start, seconds))
                start, seconds = bucket_slot(bucket, start + seconds, self.tz)

    def _roll_days_over(self, hours: Iterable[int]) -> None:
        """Roll the days the hours at `hours` are in up again from the kept hours.

        A day older than the first kept hour is covered only in part by them: it keeps what it
        holds unless their rollup covers more.
        """
        first = next(iter(self.hours), None)
        for date_ in sorted({local_date(hour, self.tz) for hour in hours}):
            start, end = day_bounds(date_, self.tz)
            rolled = self._day_of_children(start, end)
            if first is not None and start >= first and rolled is not None:
                self.days[start] = rolled
            else:  # the hours cover the day only in part: the more complete of the two
                self._settle(self.days, start, rolled, None)

    def take(self, start: int) -> Bucket | None:
        """Remove the 10-minute bucket at `start` and roll its hour and day up without it.

        For the open bucket: a slot that took shares of buckets spread onto the grid is open
        again, and what it holds goes back into the open bucket.
        """
        bucket = self.ten_minutes.get(start)
        if bucket is None:
            return None
        del self.ten_minutes[start]
        hour = hour_start(start, self.tz)
        _set_or_drop(self.hours, hour, self._hour_of_children(hour))
        day_begin, day_end = day_bounds(local_date(hour, self.tz), self.tz)
        _set_or_drop(self.days, day_begin, self._day_of_children(day_begin, day_end))
        self.version += 1
        return bucket

    def prune(self, now: float) -> None:
        """Drop 10-minute and hourly buckets past retention; daily buckets are kept forever."""
        for level, horizon in (
            (self.ten_minutes, now - TEN_MINUTE_RETENTION),
            (self.hours, now - HOUR_RETENTION),
        ):
            # Starts are whole seconds: "before the first whole second at or after the horizon".
            if level.drop_before(math.ceil(horizon)):
                self.version += 1

    # -- reading -------------------------------------------------------------------------

    def totals(self, now: float, open_bucket: Bucket | None) -> Totals:
        """Energy, cost and coverage of today / this week / month / year, up to `now`."""
        tz = self.tz
        today = local_date(now, tz)
        today_start = day_start(now, tz)
        week_start_day = today - timedelta(days=today.weekday())
        month_start_day = today.replace(day=1)
        year_start_day = today.replace(month=1, day=1)
        open_kwh = open_bucket.kwh if open_bucket is not None else 0.0
        days = self.days
        # Positions of the days from a local day through today (the table is in start order).
        days_end = days.bisect(today_start + 1)

        def days_from(first: date) -> range:
            return range(days.bisect(day_bounds(first, tz)[0]), days_end)

        def kwh_from(first: date) -> float:
            span = days_from(first)
            return math.fsum(days.column("kwh", span.start, span.stop))

        today_bucket = days.get(today_start)
        today_parts = [b for b in (today_bucket, open_bucket) if b is not None]
        today_sum = combine(today_parts, today_start, 0)
        # The month's energy and cost as `combine` sums them, read from the columns (no bucket
        # built per day): the days' and the open bucket's, a cost only where there is one.
        month = days_from(month_start_day)
        month_costs = [c for c in days.column("cost", month.start, month.stop) if not math.isnan(c)]
        if open_bucket is not None and open_bucket.cost is not None:
            month_costs.append(open_bucket.cost)
        ten = self.ten_minutes
        first_ten, end_ten = ten.bisect(today_start), len(ten)
        peaks = [
            mean_power(kwh, covered)
            for kwh, covered in zip(
                ten.column("kwh", first_ten, end_ten),
                ten.column("covered", first_ten, end_ten),
                strict=True,
            )
            if covered > 0
        ]
        elapsed = max(0.0, now - today_start)
        covered = today_sum.covered if today_sum is not None else 0.0
        return Totals(
            energy_today=today_sum.kwh if today_sum is not None else 0.0,
            energy_week=kwh_from(week_start_day) + open_kwh,
            energy_month=math.fsum([*days.column("kwh", month.start, month.stop), open_kwh]),
            energy_year=kwh_from(year_start_day) + open_kwh,
            mean_w_today=today_sum.mean_w if today_sum is not None else None,
            peak_w_today=max(peaks) if peaks else None,
            cost_today=today_sum.cost if today_sum is not None else None,
            cost_month=math.fsum(month_costs) if month_costs else None,
            coverage_today=min(1.0, covered / elapsed) if elapsed > 0 else 0.0,
            today_start=today_start,
            week_start=day_bounds(week_start_day, tz)[0],
            month_start=day_bounds(month_start_day, tz)[0],
            year_start=day_bounds(year_start_day, tz)[0],
        )

    # -- persistence ---------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Compact JSON form: each bucket as a list in `BUCKET_FIELDS` order."""
        return {
            "ten_minutes": [bucket_to_list(b) for b in self.ten_minutes.buckets()],
            "hours": [bucket_to_list(b) for b in self.hours.buckets()],
            "days": [bucket_to_list(b) for b in self.days.buckets()],
        }

    @classmethod
    def from_json(cls, tz: tzinfo, data: Mapping[str, Any]) -> History:
        """Rebuild a history saved with `to_json`."""
        history = cls(tz)
        history.ten_minutes, history.hours, history.days = (
            BucketTable.of(bucket_from_list(row) for row in data.get(name, []))
            for name in ("ten_minutes", "hours", "days")
        )
        return history

    def copy(self) -> History:
        """An independent history holding the same buckets."""
        history = History(self.tz)
        history.ten_minutes = self.ten_minutes.copy()
        history.hours = self.hours.copy()
        history.days = self.days.copy()
        return history


def _less(bucket: Bucket, part: Bucket | None) -> Bucket:
    """What `bucket` holds beyond `part` (its 10-minute buckets rolled up, say)."""
    if part is None:
        return bucket
    cost = bucket.cost
    if cost is not None and part.cost is not None:
        cost -= part.cost
    return replace(
        bucket,
        kwh=bucket.kwh - part.kwh,
        covered=bucket.covered - part.covered,
        cost=cost,
        backfill=bucket.backfill - part.backfill,
    )


def _gaps(begin: int, end: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of `begin` to `end` outside `spans` (in start order)."""
    gaps: list[tuple[int, int]] = []
    at = begin
    for start, stop in spans:
        if start > at:
            gaps.append((at, min(start, end)))
        at = max(at, stop)
    if at < end:
        gaps.append((at, end))
    return gaps


def _set_or_drop(level: BucketTable, start: int, rolled: Bucket | None) -> None:
    """Store the rollup `rolled` at `start`, or drop the bucket there when there is none."""
    if rolled is not None:
        level[start] = rolled
    elif start in level:
        del level[start]


def bucket_to_list(b: Bucket) -> list[Any]:
    """A bucket as a compact JSON list."""
    return [b.start, b.seconds, b.kwh, b.covered, b.min_w, b.max_w, b.cost, b.backfill]


def bucket_from_list(row: list[Any]) -> Bucket:
    """A bucket from its compact JSON list (see `BUCKET_FIELDS`)."""
    start, seconds, kwh, covered, min_w, max_w, cost, backfill = row
    return Bucket(
        start=int(start),
        seconds=int(seconds),
        kwh=float(kwh),
        covered=float(covered),
        min_w=None if min_w is None else float(min_w),
        max_w=None if max_w is None else float(max_w),
        cost=None if cost is None else float(cost),
        backfill=float(backfill),
    )
