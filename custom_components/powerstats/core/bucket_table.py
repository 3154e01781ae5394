"""One level of a meter's history (10-minute, hourly or daily buckets) kept as columns of numbers.

Pure. A year of buckets kept as objects costs about 250 bytes each (the object, its floats and
the dict slot) and, with 200 meters, hundreds of thousands of objects every full garbage
collection of Home Assistant walks. Kept here as arrays it is 72 bytes a bucket and no objects
at all; a `Bucket` is built when one is read.

Every stored bucket carries a stamp, unique across all tables of the process and new whenever
the bucket at that start is replaced: a reader that noted a stamp knows the bucket is unchanged
without comparing it (the rendered views keep their rows by it).
"""

from __future__ import annotations

import itertools
import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Final, Literal

from .accounting import Bucket

# Numbers kept per bucket besides its start; a missing value (no price, no measurement) is NaN,
# which no bucket holds otherwise (the files and stores are written without NaN).
type Field = Literal["seconds", "kwh", "covered", "min_w", "max_w", "cost", "backfill"]
_FIELDS: Final[dict[Field, int]] = {
    "seconds": 0,
    "kwh": 1,
    "covered": 2,
    "min_w": 3,
    "max_w": 4,
    "cost": 5,
    "backfill": 6,
}
WIDTH: Final = len(_FIELDS)
# Process-wide, so a stamp never names two different buckets, even of different histories.
_STAMPS: Final = itertools.count(1)


def new_stamp() -> int:
    """A stamp no bucket had before, for a bucket built outside the tables."""
    return next(_STAMPS)


def _value(value: float | None) -> float:
    return math.nan if value is None else value


def bucket_numbers(bucket: Bucket) -> tuple[float, ...]:
    """A bucket's numbers as a table keeps them: `WIDTH` of them, in `Field` order, NaN for None."""
    return (
        bucket.seconds,
        bucket.kwh,
        bucket.covered,
        _value(bucket.min_w),
        _value(bucket.max_w),
        _value(bucket.cost),
        bucket.backfill,
    )


def _optional(value: float) -> float | None:
    return None if value != value else value  # NaN is the only value unequal to itself


class BucketTable(MutableMapping[int, Bucket]):
    """Buckets by start, in start order, as arrays: starts, stamps and the other fields."""

    __slots__ = ("_stamps", "_starts", "_values")

    def __init__(self, buckets: Iterable[Bucket] = ()) -> None:
        self._starts = array("q")
        self._stamps = array("Q")
        self._values = array("d")
        for bucket in buckets:
            self[bucket.start] = bucket

    @classmethod
    def of(cls, buckets: Iterable[Bucket]) -> BucketTable:
        """A table of `buckets` in any order (of two with the same start, the last is kept).

        Built in one go: no search or insertion per bucket, and arrays of exactly their size.
        """
        by_start = {b.start: b for b in buckets}
        ordered = [by_start[s] for s in sorted(by_start)]
        table = cls()
        table._starts = array("q", [b.start for b in ordered])
        table._stamps = array("Q", [new_stamp() for _ in ordered])
        table._values = array("d", [value for b in ordered for value in bucket_numbers(b)])
        return table

    def copy(self) -> BucketTable:
        """An independent table holding the same buckets (and stamps)."""
        table = BucketTable()
        table._starts = array("q", self._starts)
        table._stamps = array("Q", self._stamps)
        table._values = array("d", self._values)
        return table

    # -- positions -------------------------------------------------------------------------

    def index(self, start: int) -> int:
        """Position of the bucket starting at `start`, or -1."""
        starts = self._starts
        i = bisect_left(starts, start)
        return i if i < len(starts) and starts[i] == start else -1

    def bisect(self, start: int) -> int:
        """Position of the first bucket starting at or after `start`."""
        return bisect_left(self._starts, start)

    def bucket_at(self, i: int) -> Bucket:
        """The bucket at position `i`."""
        at = i * WIDTH
        seconds, kwh, covered, min_w, max_w, cost, backfill = self._values[at : at + WIDTH]
        return Bucket(
            start=self._starts[i],
            seconds=int(seconds),
            kwh=kwh,
            covered=covered,
            min_w=_optional(min_w),
            max_w=_optional(max_w),
            cost=_optional(cost),
            backfill=backfill,
        )

    def column(self, field: Field, first: int, end: int) -> list[float]:
        """One field of the buckets at positions `first` to `end` (exclusive), NaN for None."""
        if first >= end:
            return []
        at = _FIELDS[field]
        return self._values[first * WIDTH + at : end * WIDTH : WIDTH].tolist()

    def numbers(self, first: int, end: int) -> list[float]:
        """The numbers of the buckets at positions `first` to `end` (exclusive), as
        `bucket_numbers` gives them, one bucket after the other: reading them builds no bucket.
        """
        return self._values[first * WIDTH : end * WIDTH].tolist()

    def span(self, begin: int, end: int) -> tuple[int, list[int], list[int]]:
        """The buckets starting in `[begin, end)`: first position, their starts and stamps."""
        first, stop = bisect_left(self._starts, begin), bisect_left(self._starts, end)
        return first, self._starts[first:stop].tolist(), self._stamps[first:stop].tolist()

    def drop_before(self, start: int) -> bool:
        """Drop every bucket starting before `start`; whether any was dropped."""
        i = bisect_left(self._starts, start)
        if not i:
            return False
        del self._starts[:i]
        del self._stamps[:i]
        del self._values[: i * WIDTH]
        return True

    # -- the mapping -------------------------------------------------------------------------

    def __getitem__(self, start: int) -> Bucket:
        i = self.index(start)
        if i < 0:
            raise KeyError(start)
        return self.bucket_at(i)

    def get(self, start: int, default: Bucket | None = None) -> Bucket | None:  # type: ignore[override]
        """The bucket starting at `start`, or `default`."""
        i = self.index(start)
        return default if i < 0 else self.bucket_at(i)

    def __setitem__(self, start: int, bucket: Bucket) -> None:
        if bucket.start != start:
            raise ValueError(f"a bucket starting at {bucket.start} stored at {start}")
        row = array("d", bucket_numbers(bucket))
        stamp = new_stamp()
        starts = self._starts
        i = bisect_left(starts, start)
        if i < len(starts) and starts[i] == start:
            self._stamps[i] = stamp
            self._values[i * WIDTH : (i + 1) * WIDTH] = row
        else:
            starts.insert(i, start)
            self._stamps.insert(i, stamp)
            self._values[i * WIDTH : i * WIDTH] = row

    def __delitem__(self, start: int) -> None:
        i = self.index(start)
        if i < 0:
            raise KeyError(start)
        del self._starts[i]
        del self._stamps[i]
        del self._values[i * WIDTH : (i + 1) * WIDTH]

    def __contains__(self, start: object) -> bool:
        return isinstance(start, int) and self.index(start) >= 0

    def __iter__(self) -> Iterator[int]:
        # A copy: callers may change the table while they walk it.
        return iter(self._starts.tolist())

    def __len__(self) -> int:
        return len(self._starts)

    def buckets(self) -> list[Bucket]:
        """Every bucket, in start order."""
        return [self.bucket_at(i) for i in range(len(self._starts))]

    def __repr__(self) -> str:
        return f"BucketTable({self.buckets()!r})"
